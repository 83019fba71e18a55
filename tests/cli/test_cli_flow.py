"""The user's path through the CLI on the tiny model: train, evaluate, predict text and files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from bizlm.cli import run
from tests.conftest import make_rows, write_csv


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
