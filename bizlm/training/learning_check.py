"""Guards against a run that learns nothing while looking like a success.

- :func:`resolve_class_weights` turns ``regularise.class_weights: auto`` into ``balanced`` or
  ``none`` from the training split's label counts, and writes the choice into the recipe.
- :class:`LearningWatch` compares the first evaluation after one epoch with the majority-class
  predictor and warns, with the likely causes and what to set, when the model is no better.
"""

from __future__ import annotations

import re
from typing import Any

from bizlm.methods import method_class
from bizlm.progress import Reporter
from bizlm.recipe import Recipe
from bizlm.sections.regularise import IMBALANCE_SHARE_OF_EVEN
from bizlm.tasks.rows import warn

#: truncation is named as a cause from this share of cut training texts
CUT_SHARE = 0.1
#: the model must beat the majority-class predictor by more than this (metric units)
NO_BETTER_TOLERANCE = 0.01


def label_shares(summary: dict[str, Any]) -> dict[str, float]:
    """Each label's share of the training split (single-label classify), from the summary."""
    counts = summary.get("label_distribution", {}).get("train", {})
    total = sum(counts.values())
    return {label: count / total for label, count in counts.items()} if total else {}


def resolve_class_weights(recipe: Recipe, summary: dict[str, Any]) -> dict[str, Any] | None:
    """Settle ``class_weights: auto`` for this run; return what was decided and why.

    Only single-label classify weighs classes; elsewhere ``auto`` becomes ``none``. The recipe
    is changed in place, so the bundle's recipe repeats the run exactly.
    """
    regularise = recipe.regularise
    if regularise.class_weights != "auto":
        return None
    if recipe.task.type != "classify" or recipe.task.multi_label:
        regularise.class_weights = "none"
        return None
    shares = label_shares(summary)
    if not shares:
        regularise.class_weights = "none"
        return None
    smallest = min(shares, key=shares.__getitem__)
    threshold = IMBALANCE_SHARE_OF_EVEN / len(shares)
    regularise.class_weights = "balanced" if shares[smallest] < threshold else "none"
    return {
        "setting": "auto",
        "applied": regularise.class_weights,
        "smallest_label": smallest,
        "smallest_share": round(shares[smallest], 4),
        "threshold_share": round(threshold, 4),
    }


def cut_share(summary: dict[str, Any]) -> float:
    """The share of training texts longer than max_length, read from the run's length note."""
    for note in summary.get("warnings", []):
        found = re.match(r"train split: (\d+) of (\d+) texts are longer", note)
        if found:
            return int(found.group(1)) / max(int(found.group(2)), 1)
    return 0.0


def likely_causes(recipe: Recipe, summary: dict[str, Any]) -> list[str]:
    """Plain-language causes of a model stuck at the majority class, each with what to set."""
    method = recipe.method.name
    default = method_class(method).train_defaults.learning_rate
    rate = recipe.train.learning_rate
    advice = (
        f"it may be too high; try the default with --set train.learning_rate={default:g}"
        if rate >= 10 * default
        else f"try {3 * rate:g} or more with --set train.learning_rate=..."
    )
    causes = [
        f"the learning rate: train.learning_rate is {rate:g} (method '{method}' defaults to "
        f"{default:g}); {advice}"
    ]
    shares = label_shares(summary)
    if shares and min(shares.values()) < 0.2:
        smallest = min(shares, key=shares.__getitem__)
        weighted = recipe.regularise.class_weights == "balanced"
        causes.append(
            f"imbalance: label '{smallest}' is {shares[smallest]:.0%} of the training split"
            + (
                " (classes are weighted already; more epochs or examples of it may help)"
                if weighted
                else "; set regularise.class_weights: balanced"
            )
        )
    cut = cut_share(summary)
    if cut >= CUT_SHARE:
        causes.append(
            f"truncation: {cut:.0%} of the training texts are cut at train.max_length="
            f"{recipe.train.max_length}; raise it or set task.long_inputs: head_tail"
        )
    causes.append(f"too few steps: raise train.epochs (now {recipe.train.epochs})")
    return causes


class LearningWatch:
    """Called with every history record; warns once when, after the first epoch, the model's
    validation score is no better than the majority-class predictor's."""

    def __init__(
        self,
        metric: str,
        majority: float | None,
        recipe: Recipe,
        summary: dict[str, Any],
        reporter: Reporter,
    ) -> None:
        self.metric, self.majority = metric, majority
        self.recipe, self.summary, self.reporter = recipe, summary, reporter
        self.checked = False

    def __call__(self, record: dict[str, Any]) -> None:
        """Check the first evaluation at or after the end of epoch 1."""
        score = record.get(f"val_{self.metric}")
        if self.checked or self.majority is None or score is None or record["epoch"] < 1 - 1e-9:
            return
        self.checked = True
        if score > self.majority + NO_BETTER_TOLERANCE:
            return
        message = (
            f"After {record['epoch']:.0f} epoch(s) the model is no better than always predicting "
            f"the most frequent label (validation {self.metric} {score:.3f}, majority-class "
            f"predictor {self.majority:.3f}). Likely causes: "
            + "; ".join(likely_causes(self.recipe, self.summary))
            + "."
        )
        warn(self.summary, message)
        self.reporter.note(f"warning: {message}")
