"""Methods that train a chosen subset of the model's own weights: head, bitfit, freeze."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from transformers import PreTrainedModel

from bizlm.errors import RecipeError
from bizlm.method_config import TrainDefaults
from bizlm.methods.base import AdaptationMethod, MethodConfig, TrainingPlan
from bizlm.methods.selection import encoder_layer_prefixes, freeze_except, is_head_parameter


class HeadOnly(AdaptationMethod):
    """Frozen encoder, trained head: the cheapest baseline."""

    name = "head"
    train_defaults = TrainDefaults(
        learning_rate=1e-2, basis="a linear head on frozen features: a linear model's rate"
    )
    supported_tasks = ("classify", "tag", "score")

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """Train only the task head."""
        freeze_except(model, lambda name: is_head_parameter(model, name))
        return model


class BitFit(AdaptationMethod):
    """Train the bias terms of the backbone (Ben Zaken et al., 2022) and the head."""

    name = "bitfit"
    train_defaults = TrainDefaults(
        learning_rate=1e-3, basis="BitFit paper (Ben Zaken et al., 2022): 1e-4 to 1e-3"
    )
    supported_tasks = ("classify", "tag", "score")

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """Train biases and the task head."""
        freeze_except(model, lambda name: name.endswith(".bias") or is_head_parameter(model, name))
        return model


class FreezeConfig(MethodConfig):
    """Options of ``freeze``."""

    name: Literal["freeze"] = "freeze"
    layers: int = Field(2, ge=0, description="How many of the top transformer layers to train.")


class FreezeLower(AdaptationMethod):
    """Train the head and the top ``layers`` transformer layers; freeze the rest."""

    name = "freeze"
    train_defaults = TrainDefaults(
        learning_rate=1e-4, head_learning_rate=1e-3, basis="between full fine-tuning and head"
    )
    config_class = FreezeConfig
    supported_tasks = ("classify", "tag", "score")

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """Unfreeze the top layers and the head."""
        config: FreezeConfig = self.config  # type: ignore[assignment]
        layers = encoder_layer_prefixes(model)
        if config.layers > len(layers):
            raise RecipeError(
                f"method.layers is {config.layers} but the backbone has {len(layers)} layers.",
                hint=f"Use a value from 0 to {len(layers)}.",
            )
        trained = (
            tuple(f"{p}." for p in layers[len(layers) - config.layers :]) if config.layers else ()
        )
        freeze_except(
            model, lambda name: name.startswith(trained) or is_head_parameter(model, name)
        )
        return model
