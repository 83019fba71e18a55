"""Surge detectors: EWMA z-score and CUSUM over negative counts or shares, minimum count."""

from __future__ import annotations

import random

from bizlm.apps.risk.detectors import DetectorSettings, WindowStat, detect_surges

SHARE = "negative_share"


def calm(count: int, seed: int) -> list[WindowStat]:
    rng = random.Random(seed)
    return [
        WindowStat(float(i), 40, sum(rng.random() < 0.2 for _ in range(40))) for i in range(count)
    ]


def test_ewma_flags_a_jump_and_nothing_in_a_calm_series():
    series = calm(30, seed=3)
    assert detect_surges(series, DetectorSettings("ewma", threshold=3.0, signal=SHARE)) == []
    series[20] = WindowStat(20.0, 40, 30)
    surges = detect_surges(series, DetectorSettings("ewma", threshold=3.0, signal=SHARE))
    assert [s.start for s in surges] == [20.0]
    assert surges[0].score > 3


def test_quiet_windows_never_alert_and_do_not_move_the_baseline():
    series = calm(20, seed=4)
    series[12] = WindowStat(12.0, 3, 3)  # 100% negative, but only three items
    assert detect_surges(series, DetectorSettings("ewma", 3.0, SHARE, min_count=10)) == []
    flagged = detect_surges(series, DetectorSettings("ewma", 3.0, SHARE, min_count=3))
    assert [s.start for s in flagged] == [12.0]


def test_cusum_catches_a_sustained_moderate_shift_that_ewma_misses():
    series = calm(20, seed=8)
    assert detect_surges(series, DetectorSettings("cusum", threshold=5.0, signal=SHARE)) == []
    for index in range(12, 16):  # 20% → 32% for four windows
        series[index] = WindowStat(float(index), 50, 16)
    ewma = detect_surges(series, DetectorSettings("ewma", threshold=3.0, signal=SHARE))
    cusum = detect_surges(series, DetectorSettings("cusum", threshold=5.0, signal=SHARE))
    assert ewma == []
    assert len(cusum) == 1 and 12.0 <= cusum[0].start <= 15.0


def test_a_surge_does_not_become_the_new_normal():
    series = calm(12, seed=6) + [WindowStat(float(i), 40, 32) for i in range(12, 15)]
    flagged = detect_surges(series, DetectorSettings("ewma", threshold=3.0, signal=SHARE))
    assert [s.start for s in flagged] == [12.0, 13.0, 14.0]


def test_the_count_signal_sees_extra_negatives_that_also_raise_the_volume():
    series = calm(20, seed=9)  # about 8 negatives of 40 per window
    series[14] = WindowStat(14.0, 62, 30)  # 22 extra negative items, the share only 0.2 → 0.48
    by_count = detect_surges(series, DetectorSettings("ewma", threshold=4.0))
    assert [s.start for s in by_count] == [14.0] and by_count[0].negatives == 30
    assert detect_surges(calm(20, seed=9), DetectorSettings("ewma", threshold=4.0)) == []
