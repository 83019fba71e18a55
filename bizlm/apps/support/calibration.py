"""Calibrated intent confidence and the out-of-scope threshold.

Confidence is the classifier's probability after temperature scaling (one temperature fitted
on the validation messages of known intents by negative log-likelihood). A message is out of
scope when its calibrated top probability is below a threshold, chosen on validation as the
lowest one whose answered messages (in-scope and out-of-scope examples alike) reach the target
precision, so that as many messages as possible are answered at that precision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

_TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


def scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities re-normalised after dividing their log by ``temperature``."""
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The temperature with the lowest negative log-likelihood of the gold labels (1 if none)."""
    if len(gold) == 0:
        return 1.0
    rows = np.arange(len(gold))
    losses = [-np.log(scale(probabilities, t)[rows, gold] + 1e-12).mean() for t in _TEMPERATURES]
    return float(_TEMPERATURES[int(np.argmin(losses))])


@dataclass(frozen=True)
class Calibration:
    """Temperature and out-of-scope threshold, with how they were chosen."""

    temperature: float
    threshold: float
    target_precision: float
    validation_precision: float | None
    validation_coverage: float | None
    reached_target: bool

    def to_dict(self) -> dict[str, float | bool | None]:
        """JSON-ready fields."""
        return asdict(self)


def tune_threshold(
    confidence: np.ndarray, correct: np.ndarray, target_precision: float
) -> tuple[float, float | None, float | None, bool]:
    """(threshold, precision, coverage, reached) on validation.

    ``correct[i]`` is True when message i's top intent is right (always False for an
    out-of-scope example). Without any threshold reaching the target, the one with the best
    precision is taken and ``reached`` is False.
    """
    if len(confidence) == 0:
        return 0.0, None, None, False
    order = np.argsort(-confidence)
    sorted_conf = confidence[order]
    hits = np.cumsum(correct[order])
    answered = np.arange(1, len(order) + 1)
    precision = hits / answered
    # a threshold equal to sorted_conf[i] answers every message with that confidence or more
    last_of_tie = np.r_[sorted_conf[1:] != sorted_conf[:-1], True]
    candidates = np.flatnonzero(last_of_tie)
    reaching = candidates[precision[candidates] >= target_precision]
    reached = len(reaching) > 0
    best = reaching[-1] if reached else candidates[int(np.argmax(precision[candidates]))]
    coverage = answered[best] / len(order)
    return float(sorted_conf[best]), float(precision[best]), float(coverage), reached


def calibrate(
    in_scope_probabilities: np.ndarray,
    in_scope_gold: np.ndarray,
    out_of_scope_probabilities: np.ndarray,
    target_precision: float,
) -> Calibration:
    """Fit the temperature on known intents, then the threshold on all validation messages."""
    temperature = fit_temperature(in_scope_probabilities, in_scope_gold)
    scaled_in = scale(in_scope_probabilities, temperature) if len(in_scope_gold) else None
    parts = [np.zeros(0)]
    correct = [np.zeros(0, dtype=bool)]
    if scaled_in is not None:
        parts.append(scaled_in.max(axis=1))
        correct.append(scaled_in.argmax(axis=1) == in_scope_gold)
    if len(out_of_scope_probabilities):
        parts.append(scale(out_of_scope_probabilities, temperature).max(axis=1))
        correct.append(np.zeros(len(out_of_scope_probabilities), dtype=bool))
    threshold, precision, coverage, reached = tune_threshold(
        np.concatenate(parts), np.concatenate(correct), target_precision
    )
    return Calibration(temperature, threshold, target_precision, precision, coverage, reached)


def out_of_scope_scores(is_oos_gold: np.ndarray, is_oos_predicted: np.ndarray) -> dict[str, float]:
    """Precision and recall of the out-of-scope decision (out-of-scope is the positive class)."""
    true_positive = int(np.sum(is_oos_gold & is_oos_predicted))
    predicted = int(np.sum(is_oos_predicted))
    actual = int(np.sum(is_oos_gold))
    return {
        "oos_precision": true_positive / predicted if predicted else 0.0,
        "oos_recall": true_positive / actual if actual else 0.0,
    }
