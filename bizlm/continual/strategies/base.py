"""The contract of a continual-learning strategy, and the registry that holds them.

``bizlm update`` loads the parent's model with the head grown to the new labels, then asks the
strategy, in order: which method trains (``method_config``), on which examples
(``training_examples``), with which extra targets (``prepare_features``), under which loss
(``loss_function``); after training, ``save_state`` writes what the next update needs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from bizlm.batching import Features
from bizlm.bundle_info import BundleInfo
from bizlm.continual.memory import ReplayMemory
from bizlm.errors import RecipeError
from bizlm.methods import MethodConfig
from bizlm.plugin_registry import Registry
from bizlm.progress import Reporter
from bizlm.recipe import Recipe
from bizlm.sections.continual import ContinualConfig
from bizlm.tasks import Examples
from bizlm.tasks.base import LossFunction


@dataclass
class UpdateContext:
    """What a strategy may read about the update in progress."""

    parent: Path
    parent_info: BundleInfo
    recipe: Recipe
    old_labels: list[str]
    labels: list[str]
    train: Examples
    stage: int
    memory: ReplayMemory | None
    reporter: Reporter
    tokenizer: Any
    #: the parent's own training split, when its files are still readable
    parent_train: Examples | None = None
    #: filled by the strategy for the documents: what it did, in numbers
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> ContinualConfig:
        """The recipe's ``continual:`` section."""
        return self.recipe.continual


class Strategy:
    """Plain fine-tuning on the new data; subclasses add what keeps the old knowledge."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: the strategy trains on remembered past examples, so it cannot run without a memory
    needs_memory: ClassVar[bool] = False

    def check(self, recipe: Recipe) -> None:
        """Refuse settings the strategy cannot work with, before any slow work."""

    def method_config(self, recipe: Recipe) -> MethodConfig:
        """The adaptation method that trains the update (the recipe's own by default)."""
        return recipe.method

    def training_examples(self, context: UpdateContext) -> Examples:
        """The examples to train on (the new training split by default)."""
        return context.train

    def prepare_features(
        self, model: torch.nn.Module, features: list[Features], context: UpdateContext
    ) -> None:
        """Add targets to ``features`` using the model before the update (in place)."""

    def loss_function(self, model: torch.nn.Module, context: UpdateContext) -> LossFunction | None:
        """The training loss for the module being trained (None: the model's own loss)."""
        return None

    def save_state(self, model: torch.nn.Module, staging: Path, context: UpdateContext) -> None:
        """Write what later updates need into the bundle being written."""


#: the strategies of ``bizlm update``; the built-in ones are registered by :mod:`bizlm.builtins`
STRATEGIES: Registry[type[Strategy]] = Registry("strategy", "bizlm.builtins:register_strategies")


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Make a strategy available to ``bizlm update --strategy`` (usable as a class decorator)."""
    STRATEGIES.add(cls.name, cls)
    return cls


def build_strategy(name: str) -> Strategy:
    """The registered strategy called ``name``, or an error listing the known ones."""
    if name not in STRATEGIES:
        close = difflib.get_close_matches(name, list(STRATEGIES), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise RecipeError(
            f"Unknown continual strategy '{name}'.{hint} "
            f"Known strategies: {', '.join(sorted(STRATEGIES))}."
        )
    return STRATEGIES[name]()


def model_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A batch without its labels, to call the model for logits only."""
    return {key: value for key, value in batch.items() if key != "labels"}
