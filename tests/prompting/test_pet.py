"""PET: LoRA on the generative LM with verbaliser cross-entropy, merged into the bundle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

import bizlm
from bizlm.errors import RecipeError
from tests.conftest import make_rows, write_csv


def _recipe(tiny_model_dir: Path, generator: Path, tmp_path: Path) -> dict:
    train = write_csv(tmp_path / "train.csv", make_rows(60, seed=1))
    return {
        "model": str(tiny_model_dir),
        "data": {"train": str(train), "shots": 4},
        "method": {
            "name": "pet",
            "generator": str(generator),
            "template": "{text} . it is",
            "verbalisers": {"positive": "good", "negative": "bad", "neutral": "flight"},
            "r": 4,
        },
        "train": {
            "epochs": 4,
            "batch_size": 4,
            "learning_rate": 5e-3,
            "max_length": 16,
            "warmup_ratio": 0.0,
        },
        "output": str(tmp_path / "pet"),
    }


def test_pet_learns_the_verbalisers_and_merges(
    tiny_model_dir: Path, tiny_generator_dir: Path, tmp_path: Path
) -> None:
    result = bizlm.train(_recipe(tiny_model_dir, tiny_generator_dir, tmp_path))
    history = result.info["training"]["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert result.info["training"]["optimizer_steps"] == 4 * 3  # 12 examples, batches of 4

    model = bizlm.load(result.bundle)
    assert type(model).__name__ == "PromptPredictor"
    assert model.scorer.verbalisers == ["bad", "flight", "good"]  # labels sorted
    base = AutoModelForCausalLM.from_pretrained(tiny_generator_dir).state_dict()
    merged = model.model.state_dict()
    changed = {n.split(".")[-2] for n, p in base.items() if not torch.equal(p, merged[n])}
    assert changed == {"q_proj", "v_proj"}  # only the LoRA targets moved
    probabilities = model.predict_proba(["good great love", "bad awful hate"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_pet_refuses_a_verbaliser_for_an_unknown_label(
    tiny_model_dir: Path, tiny_generator_dir: Path, tmp_path: Path
) -> None:
    recipe = _recipe(tiny_model_dir, tiny_generator_dir, tmp_path)
    recipe["method"]["verbalisers"]["postive"] = "nice"
    with pytest.raises(RecipeError, match="names label\\(s\\) postive"):
        bizlm.train(recipe)
