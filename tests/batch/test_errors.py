"""Bad input to `bizlm predict --engine ray` ends in a clear message and exit code 2, before
any Ray starts."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import ray

from bizlm.batch.parts import PART_COLUMN, PartWriter, PendingPart
from bizlm.cli import run
from bizlm.errors import DataError
from tests.conftest import make_rows, write_csv


def predict_on_ray(bundle: Path, source: Path | str, *more: str) -> list[str]:
    """The arguments of `bizlm predict BUNDLE --input SOURCE --engine ray MORE...`."""
    return ["predict", str(bundle), "--input", str(source), "--engine", "ray", *more]


def fails_with(args: list[str], capsys, *phrases: str) -> None:
    """Run the CLI: exit code 2, every phrase in the message, no traceback, no Ray started.

    Whitespace is left out of the comparison: the terminal wraps long messages anywhere."""
    assert run(args) == 2
    message = "".join(capsys.readouterr().err.split())
    for phrase in phrases:
        assert "".join(phrase.split()) in message
    assert "Traceback" not in message
    assert not ray.is_initialized()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def tickets(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "tickets.csv", make_rows(6, seed=5))


def test_a_glob_that_matches_nothing(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    args = predict_on_ray(tiny_bundle, tmp_path / "*.csv", "--output", str(tmp_path / "out"))
    fails_with(args, capsys, "matches no file", "quote a glob")


def test_a_folder_without_data_files(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    args = predict_on_ray(tiny_bundle, tmp_path / "empty", "--output", str(tmp_path / "out"))
    fails_with(args, capsys, "holds no CSV, TSV, JSONL, JSON or Parquet file")


def test_a_file_without_the_text_column_is_named(
    tiny_bundle: Path, tickets: Path, tmp_path: Path, capsys
) -> None:
    mails = tmp_path / "mails.jsonl"
    mails.write_text(json.dumps({"body": "good crew"}) + "\n", encoding="utf-8")
    output = tmp_path / "out"
    fails_with(
        predict_on_ray(tiny_bundle, tmp_path / "*.*", "--output", str(output)),
        capsys,
        f"'{mails}' has no column 'text'; its columns are: body.",
        "--text-column",
    )
    assert list(output.iterdir()) == []  # checked before any part was written


def test_a_bundle_the_actors_cannot_load_fails_in_the_driver(
    tiny_bundle: Path, tickets: Path, tmp_path: Path, capsys
) -> None:
    damaged = shutil.copytree(tiny_bundle, tmp_path / "damaged")
    weights = damaged / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    args = predict_on_ray(damaged, tickets, "--output", str(tmp_path / "out"))
    fails_with(args, capsys, f"{weights} is truncated", "Copy the whole bundle folder again")
    fails_with(
        predict_on_ray(tmp_path, tickets, "--output", str(tmp_path / "out")), capsys, str(tmp_path)
    )


def test_an_unreachable_address(tiny_bundle: Path, tickets: Path, tmp_path: Path, capsys) -> None:
    address = f"127.0.0.1:{free_port()}"
    args = predict_on_ray(tiny_bundle, tickets, "--output", str(tmp_path / "out"))
    fails_with(
        [*args, "--address", address], capsys, f"No Ray cluster answers at --address '{address}'"
    )
    fails_with([*args, "--address", "no-port"], capsys, "'no-port' is not a Ray address")


def test_the_output_must_be_a_folder(
    tiny_bundle: Path, tickets: Path, tmp_path: Path, capsys
) -> None:
    fails_with(
        predict_on_ray(tiny_bundle, tickets), capsys, "--engine ray needs --input and --output"
    )
    args = predict_on_ray(tiny_bundle, tickets, "--output", str(tickets))
    fails_with(args, capsys, f"--output '{tickets}' is a file", "--output FOLDER")


def test_ray_options_need_the_ray_engine(tiny_bundle: Path, tickets: Path, capsys) -> None:
    args = ["predict", str(tiny_bundle), "--input", str(tickets), "--actors", "2"]
    fails_with(args, capsys, "--address and --actors go with --engine ray")
    assert run(["predict", str(tiny_bundle), "--input", str(tickets), "--engine", "spark"]) == 2
    assert "'spark'isnotoneof" in "".join(capsys.readouterr().err.split())


def test_ray_not_installed(
    tiny_bundle: Path, tickets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    args = predict_on_ray(tiny_bundle, tickets, "--output", str(tmp_path / "out"))
    fails_with(args, capsys, "Ray, which is not installed", "pip install 'bizlm[scale]'")


def test_a_file_with_the_row_column_or_mixed_values(
    tiny_bundle: Path, tmp_path: Path, capsys
) -> None:
    taken = write_csv(tmp_path / "taken.csv", [{"text": "good", "input_row": "7"}])
    args = predict_on_ray(tiny_bundle, taken, "--output", str(tmp_path / "out"))
    fails_with(args, capsys, f"'{taken}' has a column 'input_row'", "Rename the column")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "good", "n": 1}\n{"text": "bad", "n": "one"}\n', encoding="utf-8")
    args = predict_on_ray(tiny_bundle, mixed, "--output", str(tmp_path / "out"))
    fails_with(args, capsys, f"'{mixed}' cannot be stored as Parquet", "one type")


def test_files_whose_text_columns_differ_in_kind(
    tiny_bundle: Path, tickets: Path, tmp_path: Path, capsys
) -> None:
    lists = tmp_path / "lists.jsonl"
    lists.write_text(json.dumps({"text": ["good", "crew"]}) + "\n", encoding="utf-8")
    args = predict_on_ray(tiny_bundle, tmp_path / "*.*", "--output", str(tmp_path / "out"))
    fails_with(args, capsys, "give a column different types", "predict the files one at a time")


def test_a_file_that_changes_while_it_is_predicted(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "tickets.csv", make_rows(3, seed=6))
    part = PendingPart(source, tmp_path / "out" / "tickets.csv.parquet", rows=3)
    writer = PartWriter([part], {"predicted_label": pa.string()}, "utf-8")
    write_csv(source, make_rows(2, seed=6))  # two rows left by the time the predictions are in
    predicted = {"input_row": [0, 1, 2], "predicted_label": ["a", "b", "c"], PART_COLUMN: [0] * 3}
    with pytest.raises(DataError, match="changed while it was predicted"):
        writer.add(pa.table(predicted))
    assert not part.target.exists()
