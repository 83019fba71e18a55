"""How a single-label classifier picks a label from its class probabilities.

The most probable label, except for a two-label classifier whose bundle keeps a decision
threshold: it predicts the second label when that label's probability reaches the threshold.
The threshold is tuned on validation for macro-F1 after training and kept only when it beats
the most probable label by :data:`MIN_GAIN`. Every consumer (``predict``, the task's metrics,
the server, explanations, exports) picks labels with :func:`choose`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_GAIN = 0.005  # validation macro-F1 a threshold must add (0.5 points) to be kept


@dataclass(frozen=True)
class Threshold:
    """Predict label ``index`` (of two) when its probability is at least ``value``."""

    index: int
    value: float


def threshold_of(calibration: dict[str, Any], labels: Sequence[str]) -> Threshold | None:
    """The decision threshold kept in a bundle's calibration (None: the most probable label)."""
    saved = calibration.get("decision_threshold") or {}
    if saved.get("value") is None or len(labels) != 2 or saved.get("label") not in labels:
        return None
    return Threshold(list(labels).index(saved["label"]), float(saved["value"]))


def choose(probabilities: np.ndarray, threshold: Threshold | None = None) -> np.ndarray:
    """The chosen label index of each probability row."""
    probabilities = np.asarray(probabilities)
    if threshold is None or probabilities.ndim != 2 or probabilities.shape[1] != 2:
        return probabilities.argmax(axis=1)
    reached = probabilities[:, threshold.index] >= threshold.value
    return np.where(reached, threshold.index, 1 - threshold.index)


def _macro_f1_of_two(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over labels 0 and 1 (a label never predicted nor present scores 0)."""
    return _macro_f1(*_counts(gold == 1, predicted == 1))


def _counts(gold: np.ndarray, positive: np.ndarray) -> tuple[Any, Any, Any, Any]:
    tp = np.sum(gold & positive)
    fp = np.sum(~gold & positive)
    fn = np.sum(gold & ~positive)
    return tp, fp, fn, len(gold) - tp - fp - fn


def _macro_f1(tp: Any, fp: Any, fn: Any, tn: Any) -> Any:
    """Mean F1 of the positive label (tp) and the negative one (tn); works on arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        negative = np.where(tn > 0, 2 * tn / (2 * tn + fp + fn), 0.0)
    return (positive + negative) / 2


def tune_threshold(
    gold: Sequence[int], probabilities: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """The threshold on the second label's probability that maximises validation macro-F1.

    Candidates are the distinct probabilities of that label; ties go to the one nearest 0.5.
    ``value`` is the threshold kept, or None when the best one gains less than
    :data:`MIN_GAIN` over the most probable label (``tried`` is that best one either way).
    """
    gold = np.asarray(gold) == 1
    scores = np.asarray(probabilities, dtype=np.float64)[:, 1]
    argmax_f1 = float(_macro_f1_of_two(gold, choose(probabilities)))
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], gold[order]
    last_of_value = np.r_[ranked[1:] != ranked[:-1], True]  # predict 1 for ranked[: i + 1]
    tp = np.cumsum(hits)[last_of_value]
    fp = np.cumsum(~hits)[last_of_value]
    fn = gold.sum() - tp
    f1 = _macro_f1(tp, fp, fn, len(gold) - tp - fp - fn)
    candidates = ranked[last_of_value]
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    pick = best[np.argmin(np.abs(candidates[best] - 0.5))]
    tried, tried_f1 = float(candidates[pick]), float(f1[pick])
    return {
        "label": str(labels[1]),
        "value": tried if tried_f1 >= argmax_f1 + MIN_GAIN else None,
        "tried": tried,
        "validation_macro_f1": {"argmax": argmax_f1, "tried": tried_f1},
    }
