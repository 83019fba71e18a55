"""The contract every task type follows (classify, tag, score) and the registry that holds them.

A task knows how to read its examples from a file, which label space they imply, how to turn
them into model features, how to score a model on them, and which predictor serves it. The
training run, evaluation and prediction only talk to this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from bizlm.batching import Features
from bizlm.data.splits import stratified_split
from bizlm.errors import BizlmError, RecipeError
from bizlm.examples import Examples
from bizlm.long_text import applied_mode
from bizlm.long_text import length_note as long_text_note
from bizlm.losses import LossFunction
from bizlm.plugin_registry import Registry
from bizlm.task_config import TaskConfig

if TYPE_CHECKING:
    from bizlm.bundle_info import BundleInfo
    from bizlm.predictor import Predictor


Evaluator = Callable[[torch.nn.Module], dict[str, float]]
SplitIndices = dict[str, list[int]]


class Task(ABC):
    """One task type. Subclasses register themselves with :func:`register_task`."""

    #: the ``transformers`` Auto class of the task model
    auto_model: ClassVar[Any]
    #: validation scores that may pick the best checkpoint (train.early_stopping_metric)
    validation_metrics: ClassVar[tuple[str, ...]]
    #: padding value of token-level labels in a batch (None: one label per example)
    label_padding: ClassVar[int | None] = None

    def __init__(self, config: TaskConfig) -> None:
        self.config = config

    @property
    def long_inputs(self) -> str:
        """How texts longer than ``train.max_length`` are read: ``task.long_inputs`` with
        ``auto`` resolved for the task type (see ``bizlm.long_text``)."""
        return applied_mode(self.config.type, self.config.long_inputs)

    @property
    @abstractmethod
    def primary_metric(self) -> str:
        """Validation metric that picks the best checkpoint when the recipe says ``auto``."""

    @abstractmethod
    def read(self, path: Path, encoding: str, summary: dict[str, Any]) -> Examples:
        """Read one file into examples, recording what was skipped in ``summary``."""

    def strata(self, examples: Examples) -> list[str]:
        """Keys the train/validation/test split is stratified on (one per example)."""
        return [""] * len(examples)

    @abstractmethod
    def label_space(self, splits: dict[str, Examples]) -> list[str]:
        """The model's output labels; refuses labels in other splits that training never saw."""

    def check_splits(self, splits: dict[str, Examples], labels: list[str]) -> None:
        """Refuse, in every split, a target outside ``labels`` (see :meth:`check_labels`)."""
        known = "task.labels" if self.config.labels else "the training data"
        for name, examples in splits.items():
            where = "training data" if name == "train" else f"the {name} split"
            self.check_labels(examples, labels, where, known)

    def check_labels(self, examples: Examples, labels: list[str], where: str, known: str) -> None:
        """Refuse a target outside ``labels`` (``known`` says where they came from).

        Tasks without a label set (score) accept every target.
        """
        return None

    def describe_labels(self, splits: dict[str, Examples], labels: list[str]) -> dict[str, Any]:
        """Counts of each label per split, for the bundle and the model card."""
        return {}

    def model_options(self, labels: list[str]) -> dict[str, Any]:
        """Keyword arguments for ``auto_model.from_pretrained`` (head size, label names)."""
        return {
            "num_labels": len(labels),
            "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)},
        }

    @abstractmethod
    def features(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int
    ) -> list[Features]:
        """Tokenised examples with a ``labels`` entry each, ready for the training loop."""

    @abstractmethod
    def evaluator(
        self,
        tokenizer: Any,
        examples: Examples,
        labels: list[str],
        max_length: int,
        batch_size: int,
    ) -> Evaluator:
        """A function scoring a model on validation examples: loss plus the task's metrics."""

    def length_note(self, tokenizer: Any, examples: Examples, max_length: int) -> str | None:
        """A sentence about inputs longer than ``max_length`` (how many, and whether they are
        cut, kept by their head and tail, or windowed), or None."""
        pairs = examples.column("text_pair")
        return long_text_note(tokenizer, examples.texts, max_length, pairs, self.long_inputs)

    def split(self, examples: Examples, fractions: dict[str, float], seed: int) -> SplitIndices:
        """Seeded split of one file into named parts (stratified on :meth:`strata`)."""
        return stratified_split(self.strata(examples), fractions, seed)

    def loss_function(self) -> LossFunction | None:
        """A custom training loss; None: the model's own loss for its labels."""
        return None

    @abstractmethod
    def predictor_class(self) -> type[Predictor]:
        """The predictor that serves this task's bundles."""

    def calibrate(
        self, predictor: Predictor, validation: Examples, train: Examples | None
    ) -> dict[str, Any]:
        """Fit post-training settings on validation (e.g. thresholds), with the training data
        at hand for statistics (None for methods that read none); saved in the bundle."""
        return {}

    @abstractmethod
    def score(self, predictor: Predictor, examples: Examples) -> dict[str, Any]:
        """The full metrics of a trained predictor on labelled examples."""


#: the task variants recipes may name; the built-in ones are registered by :mod:`bizlm.builtins`
TASKS: Registry[type[Task]] = Registry("task", "bizlm.builtins:register_tasks")


def register_task(*names: str) -> Callable[[type[Task]], type[Task]]:
    """Class decorator: serve the given task variants (e.g. ``classify``) with the class."""

    def register(cls: type[Task]) -> type[Task]:
        for name in names:
            TASKS.add(name, cls)
        return cls

    return register


def variant(config: TaskConfig) -> str:
    """Registry key of a task config: its type, with ``/multi_label`` for multi-label classify."""
    return f"{config.type}/multi_label" if config.multi_label else config.type


def build_task(config: TaskConfig) -> Task:
    """The task object for a validated task config."""
    key = variant(config)
    if key not in TASKS:
        raise RecipeError(
            f"Task '{key}' is not available.", hint=f"Known tasks: {', '.join(sorted(TASKS))}."
        )
    return TASKS[key](config)


def task_from_info(info: BundleInfo) -> Task:
    """The task of a saved bundle, from the recipe recorded in its ``bizlm.json``."""
    return build_task(TaskConfig.model_validate(info.task_settings))


def open_task_bundle(path: Path, info: BundleInfo) -> Predictor:
    """The predictor of a ``transformers`` bundle: the one its task type serves with."""
    return task_from_info(info).predictor_class().from_bundle(path)


def require_single_label(path: Path, info: BundleInfo, purpose: str) -> None:
    """Refuse a bundle that is not a single-label classifier, for features built on class
    probabilities (``purpose`` names the feature, e.g. "serving")."""
    task = info.task_settings
    if task.get("type", "classify") == "classify" and not task.get("multi_label"):
        return
    kind = "multi-label classify" if task.get("multi_label") else str(task.get("type"))
    raise BizlmError(
        f"Bundle '{path}' is a {kind} model; {purpose} supports single-label classify bundles.",
        hint="Predict with `bizlm predict` or bizlm.load(path).predict(texts).",
    )
