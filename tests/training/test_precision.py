"""Recipe switches for memory and speed: bf16 mixed precision and gradient checkpointing."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AlbertConfig,
    AlbertModel,
    AutoModelForSequenceClassification,
    BertForSequenceClassification,
)

import bizlm
from bizlm.errors import RecipeError
from bizlm.training.distributed import enable_gradient_checkpointing


def _weights(result: bizlm.training.run.TrainResult) -> dict[str, torch.Tensor]:
    return load_file(Path(result.bundle) / "model" / "model.safetensors")


def test_bf16_mixed_precision_trains_with_a_finite_loss_and_saves_float32(
    tiny_recipe: dict,
) -> None:
    tiny_recipe["train"].update(epochs=2, mixed_precision="bf16")
    result = bizlm.train(tiny_recipe)
    losses = [h["train_loss"] for h in result.info["training"]["history"] if "train_loss" in h]
    assert losses and all(math.isfinite(loss) for loss in losses)
    assert math.isfinite(result.metrics["log_loss"])
    assert {t.dtype for t in _weights(result).values()} == {torch.float32}
    assert result.info["recipe"]["train"]["mixed_precision"] == "bf16"
    # the bundle's model runs a plain float32 forward again (no autocast left on it)
    model = AutoModelForSequenceClassification.from_pretrained(Path(result.bundle) / "model")
    assert model(input_ids=torch.tensor([[2, 5, 3]])).logits.dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is allowed on a GPU")
def test_fp16_on_the_cpu_is_refused_before_any_work(tiny_recipe: dict) -> None:
    tiny_recipe["train"]["mixed_precision"] = "fp16"
    tiny_recipe["data"]["train"] = "/nonexistent/never-read.csv"  # refused before reading data
    with pytest.raises(RecipeError, match=r"'fp16' needs a GPU.*bf16"):
        bizlm.train(tiny_recipe)


def test_unknown_precision_is_a_recipe_error(tiny_recipe: dict) -> None:
    tiny_recipe["train"]["mixed_precision"] = "fp8"
    with pytest.raises(RecipeError, match=r"train.mixed_precision.*'no', 'bf16' or 'fp16'"):
        bizlm.load_recipe(tiny_recipe)


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tiny_model_dir: Path) -> None:
    plain = BertForSequenceClassification.from_pretrained(
        tiny_model_dir, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    checkpointed = copy.deepcopy(plain)
    enable_gradient_checkpointing(checkpointed, str(tiny_model_dir))
    batch = {
        "input_ids": torch.tensor([[2, 5, 13, 21, 3, 0], [2, 7, 9, 3, 0, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]]),
        "labels": torch.tensor([0, 2]),
    }
    losses = []
    for model in (plain, checkpointed):
        model.train()  # checkpointing only acts in training mode; dropout is off
        loss = model(**batch).loss
        loss.backward()
        losses.append(loss)
    assert checkpointed.bert.encoder.layer[0].gradient_checkpointing is True
    torch.testing.assert_close(losses[0], losses[1], rtol=0, atol=1e-6)
    gradients = dict(checkpointed.named_parameters())
    for name, parameter in plain.named_parameters():
        torch.testing.assert_close(parameter.grad, gradients[name].grad, rtol=1e-5, atol=1e-7)


def test_gradient_checkpointing_in_the_recipe_trains_the_same_weights(tiny_recipe: dict) -> None:
    tiny_recipe["train"]["epochs"] = 1
    plain = _weights(bizlm.train(tiny_recipe))
    tiny_recipe["train"]["gradient_checkpointing"] = True
    tiny_recipe["output"] += "-checkpointed"
    result = bizlm.train(tiny_recipe)
    assert result.info["recipe"]["train"]["gradient_checkpointing"] is True
    checkpointed = _weights(result)
    for name, tensor in plain.items():  # dropout masks are replayed in the recomputation
        torch.testing.assert_close(checkpointed[name], tensor, rtol=1e-4, atol=1e-6)


def test_gradient_checkpointing_is_refused_for_a_backbone_without_it(
    tiny_recipe: dict, tiny_model_dir: Path, tmp_path: Path
) -> None:
    albert = tmp_path / "tiny-albert"
    config = AlbertConfig(
        vocab_size=64,
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    AlbertModel(config).save_pretrained(albert)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (albert / name).write_bytes((tiny_model_dir / name).read_bytes())
    tiny_recipe["model"] = str(albert)
    tiny_recipe["train"]["gradient_checkpointing"] = True
    with pytest.raises(RecipeError, match=r"AlbertForSequenceClassification.*does not support"):
        bizlm.train(tiny_recipe)


def test_a_module_that_is_not_a_transformers_model_is_refused() -> None:
    with pytest.raises(RecipeError, match=r"'custom' \(Linear\) does not support"):
        enable_gradient_checkpointing(torch.nn.Linear(2, 2), "custom")
