"""Temperature scaling and the out-of-scope threshold for a target precision."""

from __future__ import annotations

import numpy as np

from bizlm.apps.support.calibration import (
    calibrate,
    fit_temperature,
    out_of_scope_scores,
    scale,
    tune_threshold,
)


def test_threshold_is_the_lowest_reaching_the_target() -> None:
    confidence = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([True, True, True, False, True, False])
    threshold, precision, coverage, reached = tune_threshold(confidence, correct, 0.8)
    assert reached and threshold == 0.6  # 4 of 5 answered are right
    assert precision == 0.8 and coverage == 5 / 6
    threshold, precision, _, reached = tune_threshold(confidence, correct, 0.95)
    assert reached and threshold == 0.8 and precision == 1.0


def test_unreachable_target_takes_the_best_precision() -> None:
    confidence = np.array([0.9, 0.8, 0.7])
    correct = np.array([False, True, True])
    threshold, precision, _, reached = tune_threshold(confidence, correct, 0.99)
    assert not reached
    assert threshold == 0.7 and precision == 2 / 3


def test_ties_are_answered_together() -> None:
    confidence = np.array([0.9, 0.9, 0.5])
    correct = np.array([True, False, True])
    threshold, precision, _, _ = tune_threshold(confidence, correct, 0.5)
    assert threshold == 0.5 and precision == 2 / 3


def test_temperature_softens_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 300)
    predicted = np.where(rng.random(300) < 0.6, gold, (gold + 1) % 3)  # 60% right
    probabilities = np.full((300, 3), 0.005)
    probabilities[np.arange(300), predicted] = 0.99
    temperature = fit_temperature(probabilities, gold)
    assert temperature > 1.5
    mean_confidence = scale(probabilities, temperature).max(axis=1).mean()
    assert abs(mean_confidence - 0.6) < 0.1
    assert np.allclose(scale(probabilities, 1.0).sum(axis=1), 1.0)


def test_calibrate_counts_out_of_scope_answers_as_wrong() -> None:
    inside = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    gold = np.array([0, 1, 0])
    outside = np.array([[0.75, 0.25], [0.55, 0.45]])
    result = calibrate(inside, gold, outside, target_precision=1.0)
    assert result.reached_target
    scaled_out = scale(outside, result.temperature).max(axis=1)
    assert (scaled_out < result.threshold).all()
    assert (scale(inside, result.temperature).max(axis=1)[:2] >= result.threshold).all()


def test_out_of_scope_scores() -> None:
    gold = np.array([True, True, False, False])
    predicted = np.array([True, False, True, False])
    assert out_of_scope_scores(gold, predicted) == {"oos_precision": 0.5, "oos_recall": 0.5}
    none = np.zeros(4, dtype=bool)
    assert out_of_scope_scores(gold, none) == {"oos_precision": 0.0, "oos_recall": 0.0}
