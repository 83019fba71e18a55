"""The user's path through the CLI on the tiny model: train, evaluate, predict text and files."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bizlm.cli import run
from tests.conftest import TINY_TRAIN, make_rows, write_csv


@pytest.fixture()
def trained_bundle(tmp_path: Path, tiny_recipe: dict, capsys) -> Path:
    tiny_recipe["train"]["epochs"] = 2
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    assert (
        run(
            [
                "train",
                str(recipe),
                "--set",
                "train.epochs=1",
                "--output",
                str(tmp_path / "cli-bundle"),
                "--json",
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["bundle"] == str(tmp_path / "cli-bundle")
    assert 0.0 <= printed["metrics"]["accuracy"] <= 1.0
    saved = json.loads((tmp_path / "cli-bundle" / "bizlm.json").read_text())
    assert saved["recipe"]["train"]["epochs"] == 1  # --set won over the file
    return tmp_path / "cli-bundle"


def test_evaluate_json_reports_the_metrics(trained_bundle: Path, tmp_path: Path, capsys) -> None:
    data = write_csv(tmp_path / "eval.csv", make_rows(30, seed=9))
    assert run(["evaluate", str(trained_bundle), "--data", str(data), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 30
    assert set(metrics["per_class"]) == {"negative", "neutral", "positive"}
    assert len(metrics["confusion_matrix"]) == 3
    assert 0.0 <= metrics["ece"] <= 1.0


def test_predict_texts(trained_bundle: Path, capsys) -> None:
    assert run(["predict", str(trained_bundle), "good great crew", "awful", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in results] == ["good great crew", "awful"]
    for result in results:
        assert result["label"] in {"negative", "neutral", "positive"}
        assert abs(sum(result["probabilities"].values()) - 1) < 1e-5


def test_predict_file_keeps_every_row_and_column(
    trained_bundle: Path, tmp_path: Path, capsys
) -> None:
    rows = [
        {"ticket": str(i), "body": r["text"], "channel": "mail"}
        for i, r in enumerate(make_rows(12, seed=4))
    ]
    rows[3]["body"] = "   "
    source = write_csv(tmp_path / "tickets.csv", rows)
    target = tmp_path / "scored.csv"
    assert (
        run(
            [
                "predict",
                str(trained_bundle),
                "--input",
                str(source),
                "--text-column",
                "body",
                "--output",
                str(target),
            ]
        )
        == 0
    )
    capsys.readouterr()
    with open(target, newline="", encoding="utf-8") as handle:
        scored = list(csv.DictReader(handle))
    assert [r["ticket"] for r in scored] == [r["ticket"] for r in rows]
    assert scored[0]["channel"] == "mail"
    assert scored[0]["predicted_label"] in {"negative", "neutral", "positive"}
    assert scored[3]["predicted_label"] == ""  # kept, not dropped, and not guessed
    assert {"prob_negative", "prob_neutral", "prob_positive"} <= set(scored[0])


def test_predict_jsonl_output(trained_bundle: Path, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"text": r["text"], "n": 1}) + "\n" for r in make_rows(5, seed=5))
    )
    target = tmp_path / "out.jsonl"
    assert (
        run(
            [
                "predict",
                str(trained_bundle),
                "--input",
                str(source),
                "--output",
                str(target),
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["predicted"] == 5
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == 5 and lines[0]["n"] == 1 and "predicted_label" in lines[0]


@pytest.fixture(scope="module")
def shared_bundle(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bundle for the tests below, which only read it."""
    folder = tmp_path_factory.mktemp("shared-bundle")
    recipe = {
        "model": str(tiny_model_dir),
        "data": {"train": str(write_csv(folder / "train.csv", make_rows(240, seed=1)))},
        "train": {**TINY_TRAIN, "epochs": 1},
        "output": str(folder / "bundle"),
    }
    (folder / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    assert run(["train", str(folder / "tiny.yaml"), "--quiet", "--json"]) == 0
    return folder / "bundle"


def test_predict_argument_that_is_not_utf8(shared_bundle: Path) -> None:
    command = [sys.executable, "-c", "from bizlm.cli import main; main()"]
    done = subprocess.run(
        [*command, "predict", str(shared_bundle), b"\xff\xfe bad"],
        capture_output=True,
        env={**os.environ, "PYTHONUTF8": "1", "COLUMNS": "200"},
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "Text 1 ('\\xff\\xfe bad') holds byte 0xff that is not valid UTF-8" in done.stderr


def test_predict_file_without_output_writes_beside_the_input(
    shared_bundle: Path, tmp_path: Path, capsys
) -> None:
    source = write_csv(tmp_path / "tickets.csv", make_rows(4, seed=6))
    first = tmp_path / "tickets.predictions.csv"
    assert run(["predict", str(shared_bundle), "--input", str(source)]) == 0
    assert f"4 rows predicted, written to {first} (pass --output" in capsys.readouterr().out
    first.write_text("kept\n")
    assert run(["predict", str(shared_bundle), "--input", str(source), "--json"]) == 0
    second = tmp_path / "tickets.predictions-2.csv"
    assert json.loads(capsys.readouterr().out)["output"] == str(second)
    assert first.read_text() == "kept\n"  # an existing file is never overwritten
    with open(second, newline="", encoding="utf-8") as handle:
        assert len([r for r in csv.DictReader(handle) if r["predicted_label"]]) == 4


def test_predict_long_text_is_shortened_in_the_table_only(shared_bundle: Path, capsys) -> None:
    long_text = ("好的 good crew awful\n" * 6000)[:100_000]
    assert run(["predict", str(shared_bundle), long_text]) == 0
    printed = capsys.readouterr()
    assert len(printed.out) < 1000
    assert printed.out.rstrip().endswith("…")
    assert "good crew awful\\n好的" in printed.out  # one line per text: line ends escaped
    assert "1 text(s) longer than 200 characters shortened" in printed.err
    assert run(["predict", str(shared_bundle), long_text, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["text"] == long_text


def test_predict_gbk_file_hint_names_an_encoding_that_works(
    shared_bundle: Path, tmp_path: Path, capsys
) -> None:
    source = tmp_path / "gbk.csv"
    source.write_bytes("text,channel\n退货太慢了,mail\n".encode("gbk"))
    assert run(["predict", str(shared_bundle), "--input", str(source)]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "pass --encoding gb18030" in message and "latin-1" not in message
    target = tmp_path / "scored.jsonl"
    argv = ["predict", str(shared_bundle), "--input", str(source), "--output", str(target)]
    assert run([*argv, "--encoding", "gb18030"]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["text"] == "退货太慢了"
