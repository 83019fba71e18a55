"""Turn a recipe's data section into train/validation/test examples with a label list.

Reading, splitting and label checks are the task's (``bizlm.tasks``); this module decides
which files make which split. Everything that is skipped, split or suspicious is counted in
``PreparedData.summary`` (saved in the bundle) and logged, so nothing the user gave disappears
silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bizlm.data.catalog import dataset_info, fetch
from bizlm.data.shots import take_shots
from bizlm.data.splits import find_overlap
from bizlm.recipe import Recipe
from bizlm.tasks import Examples, Task, build_task
from bizlm.tasks.rows import warn

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
        return {name: task.read(folder / f"{name}.jsonl", encoding, summary) for name in SPLITS}
    sources = {}
    if data.train is not None:
        sources["train"] = task.read(data.train, encoding, summary)
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
        parts = task.split(sources["train"], fractions, data.seed)
        summary["split"] = {"from": str(data.train), "fractions": fractions, "seed": data.seed}
        train_examples = sources["train"]
        for name, indices in parts.items():
            sources[name] = train_examples.subset(indices)
    return sources


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
