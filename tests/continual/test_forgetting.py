"""Forgetting figures from an accuracy matrix, and the promotion gate."""

from __future__ import annotations

import pytest

from bizlm.continual.bundle import promotion_gate
from bizlm.continual.forgetting import forgetting_summary
from bizlm.continual.stages import StageHistory


def test_summary_of_a_known_matrix() -> None:
    matrix = [[0.9], [0.6, 0.8], [0.3, 0.7, 1.0]]
    summary = forgetting_summary(matrix)
    assert summary["average_accuracy"] == pytest.approx((0.3 + 0.7 + 1.0) / 3)
    # BWT: mean of (0.3 - 0.9) and (0.7 - 0.8)
    assert summary["bwt"] == pytest.approx(-0.35)
    assert summary["forgetting"] == {0: pytest.approx(0.6), 1: pytest.approx(0.1)}
    assert summary["max_forgetting"] == pytest.approx(0.6)


def test_forgetting_uses_the_best_earlier_accuracy() -> None:
    summary = forgetting_summary([[0.5], [0.9, 0.8], [0.7, 0.8, 0.9]])
    assert summary["forgetting"][0] == pytest.approx(0.2)  # best 0.9 after stage 1
    assert summary["bwt"] == pytest.approx(((0.7 - 0.5) + (0.8 - 0.8)) / 2)


def test_unmeasured_stages_are_left_out() -> None:
    summary = forgetting_summary([[None], [None, 0.75]])
    assert summary["average_accuracy"] == pytest.approx(0.75)
    assert summary["bwt"] is None
    assert summary["forgetting"] == {}


def test_gate_weights_old_stages_by_their_size_and_rejects_a_large_drop() -> None:
    history = StageHistory(
        stages=[{"eval_examples": 100}, {"eval_examples": 300}, {"eval_examples": 50}],
        matrix=[[1.0], [1.0, 0.8], [0.9, 0.7, 0.95]],
    )
    gate = promotion_gate(history, max_forgetting=0.05)
    assert gate["old_accuracy_before"] == pytest.approx((100 * 1.0 + 300 * 0.8) / 400)
    assert gate["old_accuracy_after"] == pytest.approx((100 * 0.9 + 300 * 0.7) / 400)
    assert gate["drop"] == pytest.approx(0.1)
    assert gate["rejected"] is True
    assert promotion_gate(history, max_forgetting=0.2)["rejected"] is False
    assert promotion_gate(history, max_forgetting=None)["rejected"] is False
