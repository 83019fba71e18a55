"""The labels of a data file: which task they imply, how many of each, and what to note.

Label cells that are lists, or strings of which at least :data:`MULTI_LABEL_SHARE` hold ``|``,
carry several labels per text; numbers with more than :data:`SCORE_DISTINCT` distinct values are
a score. A single-label set is imbalanced when its smallest label has under half of an even
share of the rows (:data:`IMBALANCE_SHARE_OF_EVEN`): the rule by which training's
``regularise.class_weights: auto`` weighs the classes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from bizlm.errors import DataError
from bizlm.init.inspect import distinct_labels, label_text, numeric
from bizlm.sections.regularise import IMBALANCE_SHARE_OF_EVEN

#: share of label cells holding "|" from which a label column counts as several labels
MULTI_LABEL_SHARE = 0.1
#: numeric labels with more distinct values than this are scores, not classes
SCORE_DISTINCT = 10
DELIMITER = "|"
#: parts the recipe's default split makes of one file (train, validation, test)
SPLIT_PARTS = 3
_LISTED_LABELS = 30


@dataclass
class TaskPick:
    """The task type chosen for a label column, whether it is multi-label, and why."""

    type: str
    multi_label: bool
    reason: str


def choose_task(values: list[Any], given: str | None, column: str) -> TaskPick:
    """classify, multi-label classify or score, from the label cells (``given`` wins).

    Lists, or strings of which at least :data:`MULTI_LABEL_SHARE` hold ``|``, are several
    labels; numbers with more than :data:`SCORE_DISTINCT` distinct values are a score.
    """
    lists = any(isinstance(value, list) for value in values)
    piped = sum(isinstance(v, str) and DELIMITER in v for v in values) / max(len(values), 1)
    distinct = len(distinct_labels(values))
    if given == "score" or (given is None and numeric(values) and distinct > SCORE_DISTINCT):
        if not numeric(values):
            example = next(v for v in values if not numeric([v]))
            raise DataError(
                f"Column '{column}' holds {example!r}, not a number; a score task predicts a "
                "number.",
                hint="Use --task classify, or pass --label-column with a numeric column.",
            )
        reason = "given with --task" if given else f"numeric labels, {distinct} distinct values"
        return TaskPick("score", False, reason)
    given_note = "given with --task; " if given else ""
    if lists:
        return TaskPick("classify", True, f"{given_note}label cells are lists: several labels")
    if piped >= MULTI_LABEL_SHARE:
        return TaskPick(
            "classify", True, f"{given_note}{piped:.0%} of label cells hold several labels '|'"
        )
    return TaskPick("classify", False, given_note + f"{distinct} distinct labels in '{column}'")


def count_labels(values: list[Any], multi_label: bool) -> Counter[str]:
    """How many rows carry each label (every label of a multi-label cell counts)."""
    counts: Counter[str] = Counter()
    for value in values:
        if not multi_label:
            counts[label_text(value)] += 1
            continue
        parts = value if isinstance(value, list) else str(value).split(DELIMITER)
        counts.update({label_text(part) for part in parts if label_text(part)})
    return counts


def label_notes(
    values: list[Any], task: str, multi_label: bool, column: str, source: str
) -> list[str]:
    """Comment lines on the label set: counts, balance, labels too rare for every split."""
    if task == "score":
        numbers = [float(v) for v in values]
        if len(set(numbers)) < 2:
            raise DataError(
                f"Column '{column}' of {source} holds one value ({numbers[0]:g}) in all "
                f"{len(numbers)} rows: there is nothing to predict.",
                hint="Pass --label-column with the column that holds the scores.",
            )
        return [f"scores from {min(numbers):g} to {max(numbers):g}, mean {np.mean(numbers):.3g}"]
    counts = count_labels(values, multi_label)
    if len(counts) < 2:
        raise DataError(
            f"Column '{column}' of {source} holds one label, '{next(iter(counts))}', in all "
            f"{len(values)} rows; a classifier needs examples of at least two labels.",
            hint="Pass --label-column with the column that holds the labels, or add examples "
            "of the other labels.",
        )
    notes = [f"labels ({len(counts)}): {listed(counts)}"]
    smallest, fewest = counts.most_common()[-1]
    even = len(values) / len(counts)
    if not multi_label and fewest < IMBALANCE_SHARE_OF_EVEN * even:
        notes.append(
            f"imbalanced: '{smallest}' has {_examples(fewest)} ({fewest / len(values):.1%}), "
            f"under half of an even share ({1 / len(counts):.1%}); class weighting is applied "
            "by default for imbalanced data"
        )
    rare = [f"'{label}' ({count})" for label, count in counts.items() if count < SPLIT_PARTS]
    if rare:
        notes.append(f"too rare for all {SPLIT_PARTS} splits, kept for training: {', '.join(rare)}")
    return notes


def _examples(count: int) -> str:
    return f"{count:,} example" + ("" if count == 1 else "s")


def listed(counts: Counter[str]) -> str:
    """``label count`` pairs, the most frequent first (at most 30, then how many more)."""
    shown = ", ".join(f"{label} {count:,}" for label, count in counts.most_common(_LISTED_LABELS))
    return shown + (
        f", … ({len(counts) - _LISTED_LABELS} more)" if len(counts) > _LISTED_LABELS else ""
    )
