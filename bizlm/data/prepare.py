"""Turn a recipe's data section into train/validation/test splits with a label list.

Everything that is skipped, split or suspicious is counted in ``PreparedData.summary`` (saved in
the bundle) and logged as a warning, so nothing the user gave disappears silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizlm.data.catalog import dataset_info, fetch
from bizlm.data.columns import LabelledRows, select_columns
from bizlm.data.readers import read_table
from bizlm.data.splits import find_overlap, stratified_split, unseen_labels
from bizlm.errors import DataError
from bizlm.log import logger
from bizlm.recipe import Recipe

SPLITS = ("train", "validation", "test")


@dataclass
class PreparedData:
    """Labelled splits ready for tokenisation, plus what the bundle records about them."""

    splits: dict[str, LabelledRows]
    labels: list[str]
    summary: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_labelled(path: Path, recipe: Recipe, summary: dict[str, Any]) -> LabelledRows:
    """Read one file and select the recipe's text and label columns, recording skipped rows."""
    table = read_table(path, encoding=recipe.data.encoding)
    rows = select_columns(table, recipe.task.text_column, recipe.task.label_column)
    note = rows.skipped_summary(str(path))
    if note:
        logger.warning(note)
        summary.setdefault("warnings", []).append(note)
    summary.setdefault("files", {})[str(path)] = {
        "sha256": sha256_file(path),
        "rows": len(table.rows),
        "kept": len(rows.texts),
        "skipped": {reason: len(lines) for reason, lines in rows.skipped.items()},
    }
    return rows


def _subset(rows: LabelledRows, indices: list[int]) -> LabelledRows:
    return LabelledRows(
        texts=[rows.texts[i] for i in indices],
        labels=[rows.labels[i] for i in indices],
        rows=[rows.rows[i] for i in indices],
        line_numbers=[rows.line_numbers[i] for i in indices],
        skipped={},
    )


def _read_sources(recipe: Recipe, summary: dict[str, Any]) -> dict[str, LabelledRows]:
    data = recipe.data
    if data.catalog is not None:
        folder = fetch(data.catalog)
        info = dataset_info(data.catalog)
        summary["catalog"] = {k: info.get(k) for k in ("name", "package", "version", "licence")}
        return {name: load_labelled(folder / f"{name}.jsonl", recipe, summary) for name in SPLITS}
    assert data.train is not None
    sources = {"train": load_labelled(data.train, recipe, summary)}
    for name in ("validation", "test"):
        path = getattr(data, name)
        if path is not None:
            sources[name] = load_labelled(path, recipe, summary)
    missing = [name for name in ("validation", "test") if name not in sources]
    wanted = {name: getattr(data.split, name) for name in ["train", *missing]}
    wanted = {k: v for k, v in wanted.items() if v > 0}
    if len(wanted) > 1:
        total = sum(wanted.values())
        fractions = {k: v / total for k, v in wanted.items()}
        parts = stratified_split([str(x) for x in sources["train"].labels], fractions, data.seed)
        summary["split"] = {"from": str(data.train), "fractions": fractions, "seed": data.seed}
        train_rows = sources["train"]
        for name, indices in parts.items():
            sources[name] = _subset(train_rows, indices)
    return sources


def _limit_train(rows: LabelledRows, limit: int | None, seed: int) -> LabelledRows:
    if limit is None or limit >= len(rows.texts):
        return rows
    keep = len(rows.texts) - limit
    parts = stratified_split(
        [str(x) for x in rows.labels],
        {"train": limit / len(rows.texts), "rest": keep / len(rows.texts)},
        seed,
    )
    return _subset(rows, parts["train"])


def prepare_data(recipe: Recipe) -> PreparedData:
    """Read, split and check the data a recipe names."""
    summary: dict[str, Any] = {}
    splits = _read_sources(recipe, summary)
    splits["train"] = _limit_train(
        splits["train"], recipe.data.max_train_examples, recipe.data.seed
    )
    train_labels = [str(x) for x in splits["train"].labels]
    labels = list(recipe.task.labels) if recipe.task.labels else sorted(set(train_labels))
    for name, rows in splits.items():
        where = "training data" if name == "train" else f"the {name} split"
        unknown = unseen_labels(labels, [str(x) for x in rows.labels])
        if unknown:
            line = rows.line_numbers[[str(x) for x in rows.labels].index(unknown[0])]
            raise DataError(
                f"Label '{unknown[0]}' in {where} (line {line}) never appears in "
                + ("task.labels." if recipe.task.labels else "the training data."),
                hint="Add examples of it to the training file, list it in task.labels, "
                "or remove those rows.",
            )
    if len(set(train_labels)) < 2:
        raise DataError(
            f"The training data has only {len(set(train_labels))} distinct label(s).",
            hint="A classifier needs examples of at least two labels.",
        )
    if "test" in splits:
        overlap = find_overlap(splits["train"].texts, splits["test"].texts)
        summary["train_test_overlap"] = overlap
        if overlap:
            note = (
                f"{overlap} of {len(splits['test'].texts)} test texts also occur in the "
                "training data; test scores will be optimistic."
            )
            logger.warning(note)
            summary.setdefault("warnings", []).append(note)
    summary["counts"] = {name: len(rows.texts) for name, rows in splits.items()}
    summary["label_distribution"] = {
        name: {label: [str(x) for x in rows.labels].count(label) for label in labels}
        for name, rows in splits.items()
    }
    return PreparedData(splits=splits, labels=labels, summary=summary)
