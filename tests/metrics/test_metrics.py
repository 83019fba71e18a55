"""Metrics against small hand-computed cases."""

import json

import numpy as np
import pytest

from bizlm.metrics.classification import (
    classification_metrics,
    expected_calibration_error,
    reliability_bins,
)

LABELS = ["billing", "shipping", "refund"]


def one_hot(ids: list[int], k: int = 3) -> np.ndarray:
    return np.eye(k)[ids]


def test_perfect_predictions() -> None:
    y = [0, 1, 2, 1]
    m = classification_metrics(y, one_hot(y), LABELS)
    assert m["n"] == 4
    assert m["accuracy"] == 1.0
    assert m["macro_f1"] == 1.0
    assert m["weighted_f1"] == 1.0
    assert m["ece"] == pytest.approx(0.0, abs=1e-12)
    assert m["log_loss"] == pytest.approx(0.0, abs=1e-6)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]


def test_known_confusion_matrix_and_scores() -> None:
    y = [0, 0, 1, 1, 1, 2]
    pred = [0, 1, 1, 1, 2, 2]
    m = classification_metrics(y, one_hot(pred), LABELS)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    billing = m["per_class"]["billing"]
    assert billing == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    shipping = m["per_class"]["shipping"]
    assert shipping["precision"] == pytest.approx(2 / 3)
    assert shipping["recall"] == pytest.approx(2 / 3)
    refund = m["per_class"]["refund"]
    assert (refund["precision"], refund["recall"]) == (0.5, 1.0)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 2 / 3) / 3)
    assert m["macro_precision"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)
    assert m["macro_recall"] == pytest.approx((0.5 + 2 / 3 + 1) / 3)


def test_zero_support_label_is_kept() -> None:
    y = [0, 1, 0, 1]
    m = classification_metrics(y, one_hot([0, 1, 0, 1]), LABELS)
    assert m["per_class"]["refund"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion_matrix"][2] == [0, 0, 0]
    assert [row[2] for row in m["confusion_matrix"]] == [0, 0, 0]
    # macro averages run over all three labels, the absent one counting as 0
    assert m["macro_f1"] == pytest.approx(2 / 3)


def test_ece_hand_computed() -> None:
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    y = [0, 1, 1, 1]
    # bins of width 1/15: 0.9 -> (0.8667, 0.9333], 0.8 -> (0.7333, 0.8], 0.7 -> (0.6667, 0.7333],
    # 0.6 -> (0.5333, 0.6]; correct = [1, 0, 1, 1] so gaps are 0.1, 0.8, 0.3, 0.4
    expected = (0.1 + 0.8 + 0.3 + 0.4) / 4
    assert expected_calibration_error(y, probs) == pytest.approx(expected)
    assert classification_metrics(y, probs, ["a", "b"])["ece"] == pytest.approx(expected)
    # one bin: |accuracy 0.75 - mean confidence 0.75|
    assert expected_calibration_error(y, probs, n_bins=1) == pytest.approx(0.0)


def test_well_calibrated_ece_is_small() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, size=20_000)
    correct = rng.uniform(size=confidence.size) < confidence
    probs = np.column_stack([confidence, 1 - confidence])
    y = np.where(correct, 0, 1)
    assert expected_calibration_error(y, probs) < 0.02


def test_reliability_bins() -> None:
    probs = np.array([[0.9, 0.1], [0.95, 0.05], [0.3, 0.7]])
    bins = reliability_bins([0, 1, 1], probs, n_bins=5)
    assert len(bins) == 5
    assert bins[0]["lower"] == 0.0 and bins[-1]["upper"] == 1.0
    assert [b["count"] for b in bins] == [0, 0, 0, 1, 2]
    assert bins[4]["accuracy"] == 0.5
    assert bins[4]["confidence"] == pytest.approx(0.925)
    assert bins[0]["accuracy"] is None and bins[0]["confidence"] is None


def test_json_serialisable_plain_types() -> None:
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], dtype=np.float32)
    m = classification_metrics(np.array([0, 2, 2]), probs, LABELS)
    assert json.loads(json.dumps(m)) == m
    assert type(m["n"]) is int and type(m["accuracy"]) is float
    assert type(m["confusion_matrix"][0][0]) is int
    assert type(m["per_class"]["billing"]["support"]) is int


@pytest.mark.parametrize(
    ("y", "probs", "labels"),
    [
        ([0, 1], np.eye(3)[[0, 1, 2]], LABELS),  # length mismatch
        ([0, 5], np.eye(3)[[0, 1]], LABELS),  # label id out of range
        ([0, 1], np.eye(2), LABELS),  # columns != labels
        ([], np.zeros((0, 3)), LABELS),  # empty
        ([0, 1], np.array([[2.0, -1.0], [0.5, 3.0]]), ["a", "b"]),  # logits, not probabilities
    ],
)
def test_bad_input_is_rejected(y: list[int], probs: np.ndarray, labels: list[str]) -> None:
    with pytest.raises(ValueError):
        classification_metrics(y, probs, labels)
