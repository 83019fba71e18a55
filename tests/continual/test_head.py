"""Growing a parent's head: old label ids keep their rows, the new labels get new ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import bizlm
from bizlm.continual.head import head_inputs, load_extended, output_layer
from bizlm.errors import BundleError
from bizlm.inference import batched_logits, tokenize
from bizlm.methods import TrainingPlan, build_method, method_config_class

TEXTS = ["good great flight", "bad awful seat", "the crew was nice"]


def test_old_outputs_are_unchanged_after_growing_the_head(parent_bundle: Path) -> None:
    labels = json.loads((parent_bundle / "bizlm.json").read_text())["labels"]
    model, tokenizer = load_extended(parent_bundle / "model", labels, [*labels, "a", "b"])
    assert model.config.id2label == {0: "negative", 1: "positive", 2: "a", 3: "b"}
    assert output_layer(model).out_features == 4
    parent = bizlm.load(parent_bundle)
    before = batched_logits(parent.model, tokenize(parent.tokenizer, TEXTS, 32), 0)
    after = batched_logits(model, tokenize(tokenizer, TEXTS, 32), 0)
    assert torch.allclose(torch.tensor(after[:, :2]), torch.tensor(before), atol=1e-5)


def test_head_inputs_are_the_vectors_the_output_layer_reads(parent_bundle: Path) -> None:
    labels = json.loads((parent_bundle / "bizlm.json").read_text())["labels"]
    model, tokenizer = load_extended(parent_bundle / "model", labels, labels)
    vectors = head_inputs(model, tokenizer, TEXTS, 32, batch_size=2)
    assert len(vectors) == 3 and vectors[0].shape == (32,)
    layer = output_layer(model)
    logits = batched_logits(model, tokenize(tokenizer, TEXTS, 32), 0)
    assert torch.allclose(layer(torch.stack(vectors)), torch.tensor(logits), atol=1e-5)


def test_the_output_layer_is_found_inside_a_peft_model(parent_bundle: Path) -> None:
    labels = json.loads((parent_bundle / "bizlm.json").read_text())["labels"]
    model, _ = load_extended(parent_bundle / "model", labels, [*labels, "new"])
    method = build_method(method_config_class("lora")(name="lora", r=2))
    wrapped = method.prepare(model, TrainingPlan(total_steps=1))
    layer = output_layer(wrapped)
    assert layer.out_features == 3 and layer.weight.requires_grad


def test_a_model_without_a_classification_head_is_refused(tiny_model_dir: Path) -> None:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_model_dir)
    model.config.num_labels = 2
    with pytest.raises(BundleError, match="No classification output layer"):
        output_layer(model)
