"""Files predicted on a local Ray: same rows, columns and predictions as `bizlm predict --input`,
and a rerun that skips the parts already written."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
import ray

from bizlm.batch import predict_dataset, predict_files_on_ray
from bizlm.cli import run
from bizlm.data.readers import read_table

PARTS = {
    "tickets.csv": "tickets.csv.parquet",
    "more/mails.jsonl": "more__mails.jsonl.parquet",
    "chats.parquet": "chats.parquet.parquet",
}


def local_predictions(bundle: Path, source: Path, tmp_path: Path) -> list[dict]:
    """The rows `bizlm predict --input` writes for ``source`` (in this process)."""
    target = tmp_path / f"{source.name}.local.jsonl"
    assert run(["predict", str(bundle), "--input", str(source), "--output", str(target)]) == 0
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def ray_processes() -> list[psutil.Process]:
    """Ray's own processes (raylet, GCS, workers) that this test process started."""
    children = psutil.Process().children(recursive=True)
    return [p for p in children if "ray" in " ".join(p.cmdline()).lower()]


def test_a_local_ray_predicts_every_row_once_like_predict_input(
    tiny_bundle: Path, mixed_inputs: Path, tmp_path: Path
) -> None:
    assert not ray.is_initialized()
    output = tmp_path / "scored"
    summary = predict_files_on_ray(
        tiny_bundle, str(mixed_inputs), output, actors=2, show_progress=False
    )
    assert summary["written"] == 3 and summary["skipped"] == 0
    assert summary["rows"] == 300 and summary["empty_text"] == 1
    assert sorted(p.name for p in output.iterdir()) == sorted(PARTS.values())
    for source, part in PARTS.items():
        scored = pq.read_table(output / part).to_pylist()
        inputs = read_table(mixed_inputs / source).rows
        expected = local_predictions(tiny_bundle, mixed_inputs / source, tmp_path)
        assert [row["input_row"] for row in scored] == list(range(len(inputs)))
        for got, row, local in zip(scored, inputs, expected, strict=True):
            assert {key: got[key] for key in row} == row  # every input column, unchanged
            assert got["predicted_label"] == (local["predicted_label"] or None)
            for key in ("predicted_score", "prob_positive", "prob_negative", "prob_neutral"):
                if local[key] == "":
                    assert got[key] is None  # blank text: empty predictions, row kept
                else:
                    assert got[key] == pytest.approx(local[key], abs=1e-5)
    assert not ray.is_initialized()  # the job stopped the Ray it started
    deadline = time.monotonic() + 20
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ray_processes() == []


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One local Ray for the tests below, stopped after them."""
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def test_a_rerun_skips_the_parts_already_written(
    ray_cluster: None, tiny_bundle: Path, mixed_inputs: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "scored"
    args = ["predict", str(tiny_bundle), "--input", str(mixed_inputs / "**" / "*.*")]
    args += ["--output", str(output), "--engine", "ray", "--actors", "2", "--json"]
    assert run(args) == 0
    assert json.loads(capsys.readouterr().out)["written"] == 3
    written = {p.name: p.stat().st_mtime_ns for p in output.iterdir()}
    (output / PARTS["tickets.csv"]).unlink()  # as if the job had stopped before this part
    assert run(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["written"], summary["skipped"], summary["rows"]) == (1, 2, 120)
    rerun = {p.name: p.stat().st_mtime_ns for p in output.iterdir()}
    assert set(rerun) == set(written)
    for name in (PARTS["more/mails.jsonl"], PARTS["chats.parquet"]):
        assert rerun[name] == written[name]
    assert pq.read_table(output / PARTS["tickets.csv"]).num_rows == 120


def test_predict_dataset_keeps_the_columns_and_adds_predictions(
    ray_cluster: None, tiny_bundle: Path
) -> None:
    import bizlm

    rows = [{"ticket": f"t{i}", "body": text} for i, text in enumerate(["good great", "awful"])]
    dataset = ray.data.from_items(rows)
    scored = predict_dataset(tiny_bundle, dataset, text_column="body", actors=1).take_all()
    expected = bizlm.load(tiny_bundle).predict(["good great", "awful"])
    by_ticket = {row["ticket"]: row for row in scored}
    assert sorted(by_ticket) == ["t0", "t1"]
    for row, result in zip(rows, expected, strict=True):
        got = by_ticket[row["ticket"]]
        assert got["body"] == row["body"]
        assert got["predicted_label"] == result["label"]
        assert got["predicted_score"] == pytest.approx(result["score"], abs=1e-5)


def test_a_generate_bundle_answers_each_prompt_like_predict_input(
    ray_cluster: None, tiny_generate_bundle: Path, tmp_path: Path
) -> None:
    prompts = [{"prompt": "say hello to anna", "ticket": "t1"}, {"prompt": " ", "ticket": "t2"}]
    prompts += [{"prompt": "say goodbye to bob", "ticket": "t3"}]
    source = tmp_path / "prompts.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in prompts), encoding="utf-8")
    output = tmp_path / "answers"
    summary = predict_files_on_ray(tiny_generate_bundle, str(source), output, show_progress=False)
    assert (summary["rows"], summary["empty_text"]) == (3, 1)
    answered = pq.read_table(output / "prompts.jsonl.parquet").to_pylist()
    expected = local_predictions(tiny_generate_bundle, source, tmp_path)
    assert [row["ticket"] for row in answered] == ["t1", "t2", "t3"]
    assert [row["generated_text"] for row in answered] == [
        row["generated_text"] or None for row in expected
    ]
