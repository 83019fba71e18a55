"""Turn a recipe's data section into train/validation/test examples with a label list.

Reading, splitting and label checks are the task's (``bizlm.tasks``); this module decides
which files make which split. Everything that is skipped, split or suspicious is counted in
``PreparedData.summary`` (saved in the bundle) and logged, so nothing the user gave disappears
silently. The training file is checked before it is split: a text column that is mostly empty,
numbers or links, texts the model cannot read, and a label column with a single value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bizlm.data.catalog import dataset_info, fetch
from bizlm.data.columns import EMPTY_TEXT
from bizlm.data.splits import find_overlap, rare_labels
from bizlm.data.text_checks import model_language_warning, text_column_problems
from bizlm.errors import DataError
from bizlm.recipe import Recipe
from bizlm.tasks import Examples, Task, build_task
from bizlm.tasks.base import SplitIndices
from bizlm.tasks.rows import warn
from bizlm.training.shots import take_shots

SPLITS = ("train", "validation", "test")


@dataclass
class PreparedData:
    """Examples of each split ready for tokenisation, plus what the bundle records about them."""

    splits: dict[str, Examples]
    labels: list[str]
    summary: dict[str, Any] = field(default_factory=dict)


def _read_sources(task: Task, recipe: Recipe, summary: dict[str, Any]) -> dict[str, Examples]:
    data = recipe.data
    encoding = data.encoding
    if data.catalog is not None:
        folder = fetch(data.catalog)
        info = dataset_info(data.catalog)
        summary["catalog"] = {k: info.get(k) for k in ("name", "package", "version", "licence")}
        sources = {name: task.read(folder / f"{name}.jsonl", encoding, summary) for name in SPLITS}
        _check_training_data(recipe, sources["train"], data.catalog, summary)
        return sources
    sources = {}
    if data.train is not None:
        sources["train"] = task.read(data.train, encoding, summary)
        _check_training_data(recipe, sources["train"], str(data.train), summary)
    for name in ("validation", "test"):
        path = getattr(data, name)
        if path is not None:
            sources[name] = task.read(path, encoding, summary)
    if data.train is None:  # a method that learns from no examples (zero-shot)
        return sources
    missing = [name for name in ("validation", "test") if name not in sources]
    wanted = {name: getattr(data.split, name) for name in ["train", *missing]}
    wanted = {k: v for k, v in wanted.items() if v > 0}
    if len(wanted) > 1:
        total = sum(wanted.values())
        fractions = {k: v / total for k, v in wanted.items()}
        parts = _split_training_file(task, sources["train"], fractions, data.seed, summary)
        summary["split"] = {"from": str(data.train), "fractions": fractions, "seed": data.seed}
        train_examples = sources["train"]
        for name, indices in parts.items():
            sources[name] = train_examples.subset(indices)
    return sources


def _check_training_data(
    recipe: Recipe, examples: Examples, source: str, summary: dict[str, Any]
) -> None:
    """Warn about the texts of a classify, score or generate training file (the wrong text
    or prompt column, a model that cannot read them); refuse a single-label classify file with
    one label only."""
    config = recipe.task
    if config.type == "tag":
        return
    texts = examples.texts + [""] * len(examples.skipped.get(EMPTY_TEXT, []))
    key, column = "text_column", f"column '{config.text_column}'"
    if config.type == "generate":  # the texts are the prompts (or the chats' last user turns)
        key, column = "prompt_column", f"prompt column '{config.prompt_column}'"
    for problem in text_column_problems(texts):
        problem = problem.replace("task.text_column", f"task.{key}")
        warn(summary, f"{source}, {column}: {problem}")
    language = model_language_warning(recipe.model, examples.texts)
    if language:
        warn(summary, language)
    values = {str(target) for target in examples.targets}
    single_label = config.type == "classify" and not config.multi_label
    if single_label and not config.labels and len(values) == 1:
        raise DataError(
            f"{source}: the label column '{config.label_column}' has only 1 distinct label, "
            f"'{values.pop()}', in all {len(examples)} rows; a classifier needs examples of at "
            "least two labels.",
            hint="Check that task.label_column names the column of labels, or add examples "
            "of the other labels.",
        )


def _split_training_file(
    task: Task,
    examples: Examples,
    fractions: dict[str, float],
    seed: int,
    summary: dict[str, Any],
) -> SplitIndices:
    """Split the training file into ``fractions``, keeping every rare label in training.

    A label with fewer examples than the number of splits made cannot be in all of them, and
    the split could leave it out of training altogether: the model would never learn it, and
    validation or test would hold a label that training never saw. For classify, the texts of
    such a label stay in the training part, with a warning naming the label and its count, and
    the other texts are split as usual. When fewer texts than splits would be left to split,
    the whole file is split as it is.
    """
    rare = rare_labels(examples.targets, len(fractions)) if task.config.type == "classify" else {}
    held = [
        i
        for i, target in enumerate(examples.targets)
        if set(target if isinstance(target, list) else [target]) & rare.keys()
    ]
    rest = sorted(set(range(len(examples))) - set(held))
    if not held or len(rest) < len(fractions):
        return task.split(examples, fractions, seed)
    parts = task.split(examples.subset(rest), fractions, seed)
    parts = {name: [rest[i] for i in indices] for name, indices in parts.items()}
    parts["train"] = sorted(parts["train"] + held)
    shown = ", ".join(f"'{label}' ({count})" for label, count in rare.items())
    warn(
        summary,
        f"Labels with fewer examples than the {len(fractions)} splits made from the training "
        f"file: {shown}. Their examples are all kept for training, so validation and test do "
        "not score them; add examples of them, or give validation and test files.",
    )
    return parts


def _limit(task: Task, examples: Examples, limit: int | None, seed: int) -> Examples:
    if limit is None or limit >= len(examples):
        return examples
    rest = len(examples) - limit
    parts = task.split(
        examples, {"kept": limit / len(examples), "rest": rest / len(examples)}, seed
    )
    return examples.subset(parts["kept"])


def prepare_data(recipe: Recipe, task: Task | None = None) -> PreparedData:
    """Read, split and check the data a recipe names."""
    task = task or build_task(recipe.task)
    summary: dict[str, Any] = {}
    splits = _read_sources(task, recipe, summary)
    seed = recipe.data.seed
    if "train" in splits:
        splits["train"] = _limit(task, splits["train"], recipe.data.max_train_examples, seed)
        if recipe.data.shots is not None:
            splits["train"] = take_shots(
                task, splits["train"], recipe.data.shots, recipe.train.seed
            )
            summary["shots"] = {"per_label": recipe.data.shots, "seed": recipe.train.seed}
    if "validation" in splits:
        splits["validation"] = _limit(
            task, splits["validation"], recipe.data.max_validation_examples, seed
        )
    labels = task.label_space(splits)
    if "test" in splits and "train" in splits:
        overlap = find_overlap(splits["train"].texts, splits["test"].texts)
        summary["train_test_overlap"] = overlap
        if overlap:
            warn(
                summary,
                f"{overlap} of {len(splits['test'])} test texts also occur in the "
                "training data; test scores will be optimistic.",
            )
    summary["counts"] = {name: len(examples) for name, examples in splits.items()}
    summary["label_distribution"] = task.describe_labels(splits, labels)
    return PreparedData(splits=splits, labels=labels, summary=summary)
