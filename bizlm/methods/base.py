"""The contract every adaptation method follows, and the registry that holds them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from transformers import PreTrainedModel

from bizlm.errors import RecipeError
from bizlm.method_config import MethodConfig, TrainDefaults
from bizlm.plugin_registry import Registry


@dataclass(frozen=True)
class TrainingPlan:
    """What a method may need to know about the run before it starts (e.g. AdaLoRA's budget)."""

    total_steps: int
    task: str = "classify"


@dataclass
class BuiltModel:
    """A model a method built on its own: what the bundle writer needs to know about it."""

    model: torch.nn.Module
    tokenizer: Any
    location: str
    loop: Any  # bizlm.training.loop.LoopResult: time, samples and steps spent
    predictor_class: Any = None  # None: the task's own predictor
    info: dict[str, Any] = field(default_factory=dict)  # extra keys for bizlm.json


class AdaptationMethod:
    """Turns a freshly loaded task model into the model to train, and back into artifacts.

    ``mergeable`` methods export a plain ``transformers`` model (``model/``) that predicts
    exactly like the trained one; the others export the backbone with the trained head and
    need ``adapter/`` applied on top (``load_adapter``).
    """

    name: ClassVar[str]
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    supported_tasks: ClassVar[tuple[str, ...]] = ("classify",)
    mergeable: ClassVar[bool] = True
    needs_training_data: ClassVar[bool] = True
    trains_in_loop: ClassVar[bool] = True  # False: the method builds its model (see ``build``)
    #: the train settings (learning rate, ...) used where the recipe leaves them out
    train_defaults: ClassVar[TrainDefaults] = TrainDefaults(learning_rate=5e-5)

    def __init__(self, config: MethodConfig) -> None:
        self.config = config

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        """Refuse recipe settings that this method cannot honour (called on validation)."""

    def build(self, recipe: Any, data: Any, reporter: Any) -> BuiltModel:
        """Build the trained model without the shared loop (``trains_in_loop`` False only)."""
        raise NotImplementedError(f"method '{self.name}' trains in the shared loop")

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """Return the module to train (parameters that must stay fixed are frozen)."""
        return model

    def on_optimizer_step(self, model: torch.nn.Module, step: int) -> None:
        """Called after every optimizer step (AdaLoRA reallocates its ranks here)."""

    def export_model(self, model: torch.nn.Module) -> PreTrainedModel:
        """Return a plain ``transformers`` model holding the learned weights."""
        assert isinstance(model, PreTrainedModel)
        return model

    def save_adapter(self, model: torch.nn.Module, directory: Path) -> bool:
        """Write the small per-task artifact to ``directory``; False when the method has none."""
        return False

    def load_adapter(self, model: PreTrainedModel, directory: Path) -> torch.nn.Module:
        """Apply a saved ``adapter/`` to the exported model (only for non-mergeable methods)."""
        return model


def check_task(method: type[AdaptationMethod], task: str) -> None:
    """Refuse a method that does not support the task type, naming those that do."""
    if task not in method.supported_tasks:
        able = sorted(name for name, cls in METHODS.items() if task in cls.supported_tasks)
        raise RecipeError(
            f"Method '{method.name}' does not support task type '{task}'.",
            hint=f"Methods that do: {', '.join(able)}.",
        )


#: the methods recipes may name; the built-in ones are registered by :mod:`bizlm.builtins`
METHODS: Registry[type[AdaptationMethod]] = Registry("method", "bizlm.builtins:register_methods")


def register_method(cls: type[AdaptationMethod]) -> type[AdaptationMethod]:
    """Make a method available to recipes under ``cls.name`` (usable as a class decorator)."""
    METHODS.add(cls.name, cls)
    return cls


def method_class(name: str) -> type[AdaptationMethod]:
    """Look up a registered method, or say which ones exist."""
    if name not in METHODS:
        close = difflib.get_close_matches(name, list(METHODS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise RecipeError(
            f"Unknown method '{name}'.{hint} Known methods: {', '.join(sorted(METHODS))}."
        )
    return METHODS[name]


def method_config_class(name: str) -> type[MethodConfig]:
    """The pydantic config class of a registered method."""
    return method_class(name).config_class


def build_method(config: MethodConfig) -> AdaptationMethod:
    """Instantiate the method that a validated config names."""
    return method_class(config.name)(config)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """Return (trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
