"""Classification metrics for a fine-tuned classifier: quality, confusion and calibration.

Every public function returns plain Python values (``int``/``float``/``list``/``dict``), so
results can go straight into ``json.dumps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from bizlm.inference import softmax

DEFAULT_BINS = 15


def _validate(y_true: Sequence[int], probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``y_true`` and row-normalised ``probabilities`` as arrays, checking shapes,
    label range and that rows sum to 1."""
    y = np.asarray(y_true, dtype=int).reshape(-1)
    probs = np.asarray(probabilities, dtype=float)
    if probs.ndim != 2:
        raise ValueError(f"probabilities must be 2-D (n, n_labels), got shape {probs.shape}")
    if len(y) != probs.shape[0]:
        raise ValueError(
            f"y_true has {len(y)} examples but probabilities has {probs.shape[0]} rows"
        )
    if len(y) == 0:
        raise ValueError("cannot compute metrics on zero examples")
    if y.min() < 0 or y.max() >= probs.shape[1]:
        raise ValueError(
            f"y_true holds label ids outside 0..{probs.shape[1] - 1}: "
            f"min {int(y.min())}, max {int(y.max())}"
        )
    sums = probs.sum(axis=1, keepdims=True)
    if not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError("probability rows must sum to 1: pass softmax outputs, not logits")
    return y, probs / sums  # removes float32 rounding so log_loss does not warn


def log_loss(gold: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-probability of the gold label (clipped at 1e-15); defined for any
    number of labels, one included (a one-label stream stage)."""
    chosen = probs[np.arange(len(gold)), gold]
    return float(np.mean(-np.log(np.clip(chosen, 1e-15, 1.0))))


def reliability_bins(
    y_true: Sequence[int], probabilities: np.ndarray, n_bins: int = DEFAULT_BINS
) -> list[dict[str, Any]]:
    """Split predictions into ``n_bins`` equal-width confidence bins over [0, 1].

    Confidence is the top probability; a bin holds confidences in ``(lower, upper]`` (the
    first bin also holds 0). Each bin is a dict with ``lower``, ``upper``, ``count``,
    ``accuracy`` (share of correct predictions) and ``confidence`` (mean confidence); the
    last two are ``None`` for an empty bin. All ``n_bins`` bins are returned, in order.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    y, probs = _validate(y_true, probabilities)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        members = index == b
        count = int(members.sum())
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "accuracy": float(correct[members].mean()) if count else None,
                "confidence": float(confidence[members].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(
    y_true: Sequence[int], probabilities: np.ndarray, n_bins: int = DEFAULT_BINS
) -> float:
    """Expected calibration error: bin-size-weighted mean |accuracy - confidence|.

    Uses the equal-width bins of :func:`reliability_bins`; 0 means perfectly calibrated.
    """
    return _ece_from_bins(reliability_bins(y_true, probabilities, n_bins))


def _ece_from_bins(bins: list[dict[str, Any]]) -> float:
    """ECE from the output of :func:`reliability_bins`."""
    total = sum(b["count"] for b in bins)
    return float(
        sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    )


def classification_metrics(
    y_true: Sequence[int],
    probabilities: np.ndarray,
    labels: Sequence[str],
    predicted: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Score predicted class probabilities against true label ids.

    ``probabilities`` is ``(n, len(labels))`` with rows summing to 1; the prediction is
    ``predicted`` (label ids chosen by a decision rule) or else the row's argmax. Macro averages
    run over *all* ``labels``, including ones absent from ``y_true`` (they count as 0). The
    confusion matrix has true labels as rows and predicted labels as columns, both in ``labels``
    order. Besides the documented scores the result carries ``reliability_bins`` (see
    :func:`reliability_bins`) for the report's diagram.
    """
    y, probs = _validate(y_true, probabilities)
    if probs.shape[1] != len(labels):
        raise ValueError(
            f"probabilities has {probs.shape[1]} columns but there are {len(labels)} labels"
        )
    ids = list(range(len(labels)))
    y_pred = probs.argmax(axis=1) if predicted is None else np.asarray(predicted)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, y_pred, labels=ids, zero_division=0
    )
    macro_p, macro_r, macro_f1, _ = precision_recall_fscore_support(
        y, y_pred, labels=ids, average="macro", zero_division=0
    )
    bins = reliability_bins(y, probs)
    return {
        "n": len(y),
        "accuracy": float(accuracy_score(y, y_pred)),
        "macro_f1": float(macro_f1),
        "weighted_f1": float(f1_score(y, y_pred, labels=ids, average="weighted", zero_division=0)),
        "macro_precision": float(macro_p),
        "macro_recall": float(macro_r),
        "per_class": {
            str(label): {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y, y_pred, labels=ids).astype(int).tolist(),
        "ece": _ece_from_bins(bins),
        "log_loss": log_loss(y, probs),
        "reliability_bins": bins,
    }


def classification_scores(logits: np.ndarray, labels: Sequence[int]) -> dict[str, float]:
    """Loss, accuracy and macro-F1 of single-label logits against gold label ids."""
    probs = softmax(logits)
    gold = np.asarray(labels)
    loss = float(-np.mean(np.log(probs[np.arange(len(gold)), gold] + 1e-12)))
    predicted = probs.argmax(axis=1)
    classes = list(range(probs.shape[1]))
    return {
        "loss": loss,
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(
            f1_score(gold, predicted, labels=classes, average="macro", zero_division=0)
        ),
    }
