"""``adapters``: each update trains a new LoRA adapter on the frozen model, plus the grown head.

Earlier stages' weights are frozen (earlier adapters are already merged into ``model/``); the
update can only add a low-rank change to the backbone. Every stage's adapter is kept under
``continual/adapters/stage-N/`` so each one can be inspected or re-applied on its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from peft import PeftModel

from bizlm.continual.memory import MEMORY_DIR
from bizlm.continual.strategies.base import Strategy, UpdateContext
from bizlm.methods import MethodConfig, method_config_class
from bizlm.recipe import Recipe

ADAPTERS_DIR = "adapters"


class Adapters(Strategy):
    """A new LoRA adapter per update on a frozen base; old adapters untouched."""

    name = "adapters"
    description = "a new LoRA adapter per update on the frozen model"

    def method_config(self, recipe: Recipe) -> MethodConfig:
        """LoRA with the rank from ``continual.adapter_rank``."""
        return method_config_class("lora")(name="lora", r=recipe.continual.adapter_rank)

    def save_state(self, model: torch.nn.Module, staging: Path, context: UpdateContext) -> None:
        """Keep the parent's adapters and add this stage's."""
        assert isinstance(model, PeftModel)
        target = staging / MEMORY_DIR / ADAPTERS_DIR
        earlier = context.parent / MEMORY_DIR / ADAPTERS_DIR
        if earlier.is_dir():
            shutil.copytree(earlier, target)
        model.save_pretrained(target / f"stage-{context.stage}")
        context.record["adapters"] = sorted(p.name for p in target.iterdir())
