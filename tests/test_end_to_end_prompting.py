"""End to end with the real models: zero-shot (embedding and generative) and few-shot bbc-news."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bizlm
from bizlm.data.catalog import fetch
from bizlm.recipe import load_recipe

pytestmark = pytest.mark.slow

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def test_zero_shot_embedding_recipe_classifies_bbc_news(tmp_path: Path) -> None:
    result = bizlm.train(
        RECIPES / "bbc-zeroshot.yaml",
        [f"output={tmp_path / 'zeroshot'}", "data.max_validation_examples=20"],
    )
    assert result.info["training"]["trainable_parameters"] == 0
    assert result.metrics["evaluated_on"] == "test"
    assert result.metrics["accuracy"] >= 0.8  # 5 topics; chance is 0.2
    model = bizlm.load(result.bundle)
    assert model.predict("The striker scored twice in the cup final")[0]["label"] == "sports"


def test_few_shot_recipe_learns_from_eight_examples_per_topic(tmp_path: Path) -> None:
    result = bizlm.train(
        RECIPES / "bbc-fewshot.yaml",
        [f"output={tmp_path / 'fewshot'}", "train.epochs=5", "data.max_validation_examples=20"],
    )
    assert result.info["data"]["counts"]["train"] == 40
    assert result.metrics["accuracy"] >= 0.7


def test_generative_zero_shot_with_the_packaged_language_model(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (fetch("bbc-news") / "test.jsonl").open()]
    by_label: dict[str, list[str]] = {}
    for row in rows:  # the file is sorted by label: take the first 8 of each
        by_label.setdefault(row["label"], []).append(json.dumps(row))
    test = tmp_path / "test.jsonl"
    test.write_text("".join(line + "\n" for lines in by_label.values() for line in lines[:8]))
    recipe = load_recipe(RECIPES / "bbc-zeroshot.yaml").resolved()
    recipe["data"] = {"test": str(test)}
    recipe["method"].update(mode="generative", calibrate=True)
    verbalisers = {"sports": "Sport", "tech": "Technology"}
    for label, spec in recipe["method"]["labels"].items():
        spec["verbaliser"] = verbalisers.get(label, label.capitalize())
    recipe["output"] = str(tmp_path / "generative")
    result = bizlm.train(recipe)
    assert result.info["prompt"]["calibration"]["applied"] is True
    assert result.metrics["n"] == 40
    # a 135M-parameter model: well above chance (0.2), far from the embedding mode
    assert result.metrics["accuracy"] >= 0.3
    report = bizlm.load(result.bundle).try_prompt("The striker scored twice in the cup final")
    assert "Text: The striker scored twice" in report["prompt"]
    assert report["prompt"].endswith("<|im_start|>assistant\n")  # the model's chat template
