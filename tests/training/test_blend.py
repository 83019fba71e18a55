"""``evaluation.blend``: the baseline's n-gram model mixed into the trained model's outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import bizlm
from bizlm.compress.export import export_bundle
from bizlm.compress.options import ExportOptions
from bizlm.errors import BundleError, RecipeError
from bizlm.ngram_model import NgramModel
from bizlm.recipe import load_recipe
from bizlm.training.blend import MIN_GAIN, WEIGHTS

TEXTS = ["good great flight", "awful rude crew", "the seat was a seat", "great awful"]


@pytest.fixture(scope="module")
def blended_bundle(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model that barely trains (one epoch, a tiny learning rate) on texts whose
    label words an n-gram model reads at once: validation picks a blend."""
    from tests.conftest import make_rows, write_csv

    folder = tmp_path_factory.mktemp("blend")
    recipe = {
        "model": str(tiny_model_dir),
        "data": {"train": str(write_csv(folder / "train.csv", make_rows(240, seed=3)))},
        "train": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-6, "max_length": 32},
        "output": str(folder / "bundle"),
    }
    return bizlm.train(recipe).bundle


def _info(bundle: Path) -> dict:
    return json.loads((bundle / "bizlm.json").read_text())


def test_a_weight_chosen_on_validation_is_recorded_with_the_model_alone(
    blended_bundle: Path,
) -> None:
    info = _info(blended_bundle)
    blend = info["blend"]
    assert blend["weight"] in WEIGHTS and blend["weight"] > 0
    scores = {float(weight): value for weight, value in blend["validation"].items()}
    assert sorted(scores) == list(WEIGHTS)
    assert scores[blend["weight"]] == max(scores.values())
    assert scores[blend["weight"]] >= scores[0.0] + MIN_GAIN
    alone = blend["model_alone"]["test"]["macro_f1"]
    assert info["metrics"]["macro_f1"] > alone
    assert f"weight {blend['weight']:g}" in info["verdict"]["message"]
    assert f"alone scores {alone:.3f} on test" in info["verdict"]["message"]
    assert (blended_bundle / "ngram" / "ngram.json").is_file()
    assert "blend the TF-IDF model's" in (blended_bundle / "MODEL_CARD.md").read_text()
    report = (blended_bundle / "report.html").read_text()
    assert f"TF-IDF model at weight {blend['weight']:g}" in report


def test_predictions_mix_the_plain_model_and_the_saved_ngram_model(blended_bundle: Path) -> None:
    weight = _info(blended_bundle)["blend"]["weight"]
    model = AutoModelForSequenceClassification.from_pretrained(blended_bundle / "model")
    tokenizer = AutoTokenizer.from_pretrained(blended_bundle / "model")
    with torch.no_grad():
        logits = model(**tokenizer(TEXTS, padding=True, return_tensors="pt")).logits
    plain = torch.softmax(logits, dim=-1).numpy()
    ngram = NgramModel.load(blended_bundle / "ngram").outputs(TEXTS)
    ours = bizlm.load(blended_bundle).predict_proba(TEXTS)
    np.testing.assert_allclose(ours, (1 - weight) * plain + weight * ngram, atol=1e-5)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-5)


def test_an_onnx_export_keeps_the_blend(blended_bundle: Path, tmp_path: Path) -> None:
    options = ExportOptions(format="onnx", quantize="none", max_drop=100, output=tmp_path / "x")
    exported = export_bundle(blended_bundle, options).bundle
    assert _info(exported)["blend"] == _info(blended_bundle)["blend"]
    before = bizlm.load(blended_bundle).predict_proba(TEXTS)
    assert np.abs(bizlm.load(exported).predict_proba(TEXTS) - before).max() < 1e-4


def test_a_bundle_missing_its_ngram_files_is_refused_by_name(
    blended_bundle: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(blended_bundle, copy)
    (copy / "ngram" / "ngram.safetensors").unlink()
    with pytest.raises(BundleError, match=r"ngram\.safetensors"):
        bizlm.load(copy)


def test_blend_needs_the_baseline(tmp_path: Path) -> None:
    recipe = {"data": {"train": "train.csv"}, "evaluation": {"baseline": False, "blend": True}}
    with pytest.raises(RecipeError, match="blend mixes the baseline into the model"):
        load_recipe(recipe)
