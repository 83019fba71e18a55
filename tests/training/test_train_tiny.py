"""Train the tiny random model end to end (seconds) and check the bundle it writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import bizlm
from bizlm.errors import BundleError


@pytest.mark.parametrize("method", ["full", "lora"])
def test_training_writes_a_complete_bundle(tiny_recipe: dict, method: str) -> None:
    tiny_recipe["method"] = {"name": method}
    tiny_recipe["train"]["epochs"] = 1
    result = bizlm.train(tiny_recipe)
    bundle = Path(result.bundle)
    for name in ("model/config.json", "bizlm.json", "metrics.json", "MODEL_CARD.md", "report.html"):
        assert (bundle / name).is_file(), name
    assert (bundle / "adapter").is_dir() == (method == "lora")
    assert result.metrics["evaluated_on"] == "test"
    info = json.loads((bundle / "bizlm.json").read_text())
    assert info["recipe"]["train"]["weight_decay"] == 0.01  # defaults are resolved
    assert info["recipe"]["method"]["name"] == method
    assert info["data"]["counts"] == {"train": 192, "validation": 24, "test": 24}
    assert sorted(info["labels"]) == ["negative", "neutral", "positive"]


def test_full_fine_tuning_learns_a_separable_task(tiny_recipe: dict) -> None:
    result = bizlm.train(tiny_recipe)
    assert result.metrics["accuracy"] >= 0.9


def test_lora_changes_only_adapter_and_head_and_both_artifacts_agree(
    tiny_recipe: dict, tiny_model_dir: Path
) -> None:
    tiny_recipe["method"] = "lora"
    tiny_recipe["train"].update(epochs=2, learning_rate=3e-2)
    result = bizlm.train(tiny_recipe)
    bundle = Path(result.bundle)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
    merged = AutoModelForSequenceClassification.from_pretrained(bundle / "model")
    base_state, merged_state = base.state_dict(), merged.state_dict()
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(base_state[query], merged_state[query])  # LoRA merged in
    for frozen in (
        "bert.embeddings.word_embeddings.weight",
        "bert.encoder.layer.0.intermediate.dense.weight",
        "bert.encoder.layer.1.attention.self.key.weight",
    ):
        assert torch.equal(base_state[frozen], merged_state[frozen]), frozen
    history = result.info["training"]["history"]
    val_losses = [h["val_loss"] for h in history if "val_loss" in h]
    assert val_losses[-1] < val_losses[0]
    restored = PeftModel.from_pretrained(base, bundle / "adapter").eval()
    tokenizer = AutoTokenizer.from_pretrained(bundle / "model")
    batch = tokenizer(["good great flight", "awful rude crew"], padding=True, return_tensors="pt")
    with torch.no_grad():
        np.testing.assert_allclose(restored(**batch).logits, merged(**batch).logits, atol=1e-5)


def test_model_folder_loads_with_plain_transformers(tiny_recipe: dict) -> None:
    tiny_recipe["method"] = "lora"
    tiny_recipe["train"]["epochs"] = 1
    result = bizlm.train(tiny_recipe)
    texts = ["good great flight", "awful rude crew", "the seat"]
    ours = np.array(
        [
            [r["probabilities"][x] for x in result.info["labels"]]
            for r in bizlm.load(result.bundle).predict(texts)
        ]
    )
    model = AutoModelForSequenceClassification.from_pretrained(Path(result.bundle) / "model")
    tokenizer = AutoTokenizer.from_pretrained(Path(result.bundle) / "model")
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    plain = torch.softmax(logits, dim=-1).numpy()
    assert model.config.id2label[0] == result.info["labels"][0]
    np.testing.assert_allclose(ours, plain, atol=1e-5)


def test_training_is_deterministic_for_a_seed(tiny_recipe: dict, tmp_path: Path) -> None:
    tiny_recipe["train"]["epochs"] = 1
    first = bizlm.train({**tiny_recipe, "output": str(tmp_path / "a")})
    second = bizlm.train({**tiny_recipe, "output": str(tmp_path / "b")})
    assert first.info["training"]["history"] == second.info["training"]["history"]


def test_loading_a_folder_that_is_not_a_bundle_says_so(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a bizlm bundle"):
        bizlm.load(tmp_path)
