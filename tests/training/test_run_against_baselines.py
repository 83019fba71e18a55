"""A trained model is scored beside the TF-IDF baseline and the majority class, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import bizlm
from bizlm.cli import run


def test_the_bundle_holds_the_baseline_and_the_verdict(tiny_recipe: dict) -> None:
    result = bizlm.train(tiny_recipe)
    bundle = Path(result.bundle)
    metrics = json.loads((bundle / "metrics.json").read_text())
    baseline = metrics["baseline"]
    assert baseline["name"] == "tfidf-logreg"
    assert baseline["test"]["macro_f1"] >= 0.9  # the word lists are easy for TF-IDF too
    assert metrics["majority"]["test"]["accuracy"] < 0.5
    verdict = result.verdict
    assert verdict is not None and verdict["metric"] == "macro_f1"
    assert verdict["model"] == metrics["macro_f1"]
    assert verdict["baseline"] == baseline["test"]["macro_f1"]
    assert abs(verdict["margin_points"] - 100 * (verdict["model"] - verdict["baseline"])) < 0.01
    assert verdict["beats_majority"]
    report = (bundle / "report.html").read_text()
    card = (bundle / "MODEL_CARD.md").read_text()
    for document in (report, card):
        assert "Baseline" in document
        assert verdict["message"].split(":")[0] in document


def test_a_model_that_learns_nothing_is_warned_and_said_so(tiny_recipe: dict) -> None:
    tiny_recipe["train"].update(learning_rate=1e-9, epochs=2)
    result = bizlm.train(tiny_recipe)
    warnings = result.info["data"]["warnings"]
    assert any("no better than always predicting the most frequent label" in w for w in warnings)
    verdict = result.verdict
    assert verdict["beats_baseline"] is False
    assert "did not beat the baseline" in verdict["message"]
    assert verdict["passed"] is False
    bundle = Path(result.bundle)
    report = (bundle / "report.html").read_text()
    assert "<h2>Data notes</h2>" in report and "no better than always predicting" in report
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "Notes from reading and checking the data" in card


def test_baseline_off_leaves_only_the_majority_comparison(tiny_recipe: dict) -> None:
    tiny_recipe["evaluation"] = {"baseline": False}
    result = bizlm.train(tiny_recipe)
    assert "baseline" not in result.metrics
    assert result.metrics["majority"]["test"]["macro_f1"] < result.metrics["macro_f1"]


def test_min_margin_gate_exits_3_after_writing_the_bundle(
    tiny_recipe: dict, tmp_path: Path, capsys
) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    output = tmp_path / "gated"
    code = run(["train", str(recipe), "--output", str(output), "--min-margin", "200"])
    assert code == 3
    printed = capsys.readouterr()
    assert "rejected:" in printed.err
    assert "baseline (TF-IDF + linear):" in printed.out
    info = json.loads((output / "bizlm.json").read_text())
    assert info["recipe"]["evaluation"]["min_margin"] == 200
    assert info["verdict"]["passed"] is False
    assert run(["train", str(recipe), "--output", str(output), "--min-margin", "-200"]) == 0


def test_a_margin_without_a_baseline_is_refused() -> None:
    from bizlm.errors import RecipeError
    from bizlm.recipe import load_recipe

    with pytest.raises(RecipeError, match="min_margin is a margin over the baseline"):
        load_recipe(
            {"data": {"catalog": "trec"}, "evaluation": {"baseline": False, "min_margin": 1}}
        )
