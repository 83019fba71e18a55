"""``bizlm update`` and ``bizlm data stream`` at the command line: bad input names what is
wrong (exit code 2, no traceback); a rejected update exits with code 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizlm.cli import run
from tests.cli.test_cli_errors import fails_with
from tests.conftest import make_rows, write_csv


def _update_argv(parent: Path, data: Path, output: Path, *extra: str) -> list[str]:
    return ["update", str(parent), "--data", str(data), "--output", str(output), *extra]


def test_update_prints_the_accuracy_matrix(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(_update_argv(parent_bundle, new_label_csv, tmp_path / "c", "--quiet"))
    shown = capsys.readouterr().out
    assert code == 0
    assert "after stage" in shown and "BWT" in shown and "strategy: replay" in shown
    code = run(
        _update_argv(parent_bundle, new_label_csv, tmp_path / "d", "--strategy", "naive", "--json")
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["strategy"] == "naive"
    assert payload["labels"] == ["negative", "positive", "neutral"]


def test_a_rejected_update_exits_3_and_says_why(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(parent_bundle, new_label_csv, tmp_path / "c", "--strategy", "naive")
    code = run([*argv, "--max-forgetting", "0.02", "--quiet"])
    message = " ".join(capsys.readouterr().err.split())
    assert code == 3
    assert "Update rejected" in message and "marked rejected" in message
    assert "Traceback" not in message


def test_a_different_backbone_is_refused(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(parent_bundle, new_label_csv, tmp_path / "c", "--set", "model=default")
    fails_with(capsys, argv, "continues its parent's backbone", "cannot switch to 'default'")


def test_a_different_task_type_is_refused(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(parent_bundle, new_label_csv, tmp_path / "c", "--set", "task.type=score")
    fails_with(capsys, argv, "keeps its parent's task type 'classify'", "got 'score'")


def test_new_data_without_the_label_column_is_refused(
    parent_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"text": row["text"]} for row in make_rows(20, seed=3)]
    data = write_csv(tmp_path / "unlabelled.csv", rows)
    fails_with(capsys, _update_argv(parent_bundle, data, tmp_path / "c"), "label", "unlabelled.csv")


def test_empty_new_data_is_refused(
    parent_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "empty.csv"
    data.write_text("text,label\n", encoding="utf-8")
    fails_with(capsys, _update_argv(parent_bundle, data, tmp_path / "c"), "empty.csv")
    assert not (tmp_path / "c").exists()


def test_a_memory_larger_than_the_data_seen_is_refused(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(
        parent_bundle, new_label_csv, tmp_path / "c", "--set", "continual.memory_per_class=500"
    )
    fails_with(capsys, argv, "memory_per_class is 500", "could never fill")


def test_unknown_strategy_and_ewc_on_lora_are_refused(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(parent_bundle, new_label_csv, tmp_path / "c", "--strategy", "replai")
    fails_with(capsys, argv, "Unknown continual strategy 'replai'", "Did you mean 'replay'?")
    argv = _update_argv(
        parent_bundle, new_label_csv, tmp_path / "c", "--strategy", "ewc", "--set", "method=lora"
    )
    fails_with(capsys, argv, "Strategy 'ewc' needs a method", "not 'lora'")


def test_a_missing_data_file_or_parent_is_refused(
    parent_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(parent_bundle, tmp_path / "nope.csv", tmp_path / "c")
    fails_with(capsys, argv, "Update data", "nope.csv", "does not exist")
    argv = _update_argv(tmp_path / "no-bundle", tmp_path / "nope.csv", tmp_path / "c")
    fails_with(capsys, argv, "no-bundle", "does not exist")


def test_a_method_that_keeps_its_adapter_apart_is_refused(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _update_argv(
        parent_bundle,
        new_label_csv,
        tmp_path / "c",
        "--strategy",
        "naive",
        "--set",
        "method=prefix",
    )
    fails_with(capsys, argv, "Method 'prefix' keeps its adapter apart", "method.name=full")


def test_replay_without_any_past_examples_is_refused(
    parent_bundle: Path, new_label_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import shutil

    orphan = tmp_path / "orphan"
    shutil.copytree(parent_bundle, orphan)
    info = json.loads((orphan / "bizlm.json").read_text())
    info["recipe"]["data"]["train"] = str(tmp_path / "deleted.csv")  # its data is gone
    (orphan / "bizlm.json").write_text(json.dumps(info))
    argv = _update_argv(orphan, new_label_csv, tmp_path / "c", "--strategy", "replay")
    fails_with(capsys, argv, "Strategy 'replay' needs past examples", "--strategy lwf")
    assert run([*argv[:-1], "lwf", "--quiet"]) == 0  # lwf needs none
    capsys.readouterr()
