"""``train.head_learning_rate``: the task head gets its own rate, plain or inside peft."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoModelForSequenceClassification

from bizlm.recipe import TrainConfig
from bizlm.training.loop import _optimizer


def _rates(model, config: TrainConfig) -> dict[str, float]:
    optimizer = _optimizer(model, config)
    rate_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    return {n: rate_of[id(p)] for n, p in model.named_parameters() if p.requires_grad}


@pytest.fixture()
def model(tiny_model_dir: Path):
    return AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)


def test_the_head_trains_at_its_own_rate(model) -> None:
    rates = _rates(model, TrainConfig(learning_rate=1e-4, head_learning_rate=3e-3))
    head = {n: r for n, r in rates.items() if n.startswith(("classifier.", "bert.pooler."))}
    body = {n: r for n, r in rates.items() if n not in head}
    assert head and set(head.values()) == {3e-3}
    assert body and set(body.values()) == {1e-4}


def test_without_a_head_rate_every_parameter_shares_one(model) -> None:
    assert set(_rates(model, TrainConfig(learning_rate=2e-4)).values()) == {2e-4}


def test_the_head_rate_reaches_the_head_inside_peft(model) -> None:
    from peft import LoraConfig, get_peft_model

    wrapped = get_peft_model(
        model,
        LoraConfig(target_modules=["query", "value"], modules_to_save=["classifier"], r=2),
    )
    rates = _rates(wrapped, TrainConfig(learning_rate=1e-4, head_learning_rate=5e-3))
    head = {n: r for n, r in rates.items() if "modules_to_save" in n}
    lora = {n: r for n, r in rates.items() if "lora_" in n}
    assert head and set(head.values()) == {5e-3}
    assert lora and set(lora.values()) == {1e-4}
