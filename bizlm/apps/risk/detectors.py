"""Surge detectors over a per-window series: negative items (count) or their share.

Both learn the usual value of a topic's signal from the windows before (an exponentially
weighted mean and variance) and flag windows where it jumps; the spread used is never below
the sampling noise of the window (Poisson for a count, binomial for a share of its items):

- **EWMA z-score**: the window's share is ``threshold`` standard deviations above the mean;
- **CUSUM**: the running sum of standardised excesses (each minus a slack ``k``) passes
  ``threshold`` — slower to fire on one spike, quicker on a sustained shift.

Windows with fewer than ``min_count`` items are never flagged (two items do not page anyone)
and do not move the baseline; flagged windows do not move it either, so a surge does not
become the new normal while it lasts; nor do windows while the CUSUM sum is above zero (a
shift in progress). After CUSUM fires, its sum starts again from zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DETECTORS = ("ewma", "cusum")
SIGNALS = ("negative_count", "negative_share")


@dataclass(frozen=True)
class WindowStat:
    """One window of a series: its start (Unix seconds), items and negative items."""

    start: float
    count: int
    negatives: int

    @property
    def share(self) -> float:
        """Negative share of the window (0 when empty)."""
        return self.negatives / self.count if self.count else 0.0

    def value(self, signal: str) -> float:
        """The window's negative count or negative share."""
        return float(self.negatives) if signal == "negative_count" else self.share


@dataclass(frozen=True)
class Surge:
    """A flagged window and the detector's score for it."""

    start: float
    count: int
    negatives: int
    score: float


@dataclass(frozen=True)
class DetectorSettings:
    """How a detector learns its baseline and when it fires."""

    detector: str = "ewma"
    threshold: float = 4.0
    signal: str = "negative_count"
    min_count: int = 10
    alpha: float = 0.2
    warmup: int = 4
    min_std: float = 0.05
    cusum_slack: float = 0.5


class _Baseline:
    """Exponentially weighted mean and variance of the signal."""

    def __init__(self, alpha: float, min_std: float, signal: str) -> None:
        self.alpha = alpha
        self.min_std = min_std
        self.signal = signal
        self.mean = 0.0
        self.variance = 0.0
        self.seen = 0

    def z(self, value: float, count: int) -> float:
        """Standardised excess, never dividing by less than the sampling noise."""
        if self.signal == "negative_count":
            sampling = math.sqrt(max(self.mean, 1.0))
            floor = 1.0
        else:
            sampling = math.sqrt(self.mean * (1 - self.mean) / count)
            floor = self.min_std
        return (value - self.mean) / max(math.sqrt(self.variance), sampling, floor)

    def learn(self, value: float) -> None:
        if self.seen == 0:
            self.mean = value
        else:
            delta = value - self.mean
            self.mean += self.alpha * delta
            self.variance = (1 - self.alpha) * (self.variance + self.alpha * delta * delta)
        self.seen += 1


def detect_surges(series: Sequence[WindowStat], settings: DetectorSettings) -> list[Surge]:
    """The windows of ``series`` (in time order) that the chosen detector flags."""
    if settings.detector not in DETECTORS:
        raise ValueError(f"unknown detector '{settings.detector}'; use one of {DETECTORS}")
    if settings.signal not in SIGNALS:
        raise ValueError(f"unknown signal '{settings.signal}'; use one of {SIGNALS}")
    baseline = _Baseline(settings.alpha, settings.min_std, settings.signal)
    cusum = 0.0
    surges: list[Surge] = []
    for window in series:
        if window.count < settings.min_count:
            continue
        value = window.value(settings.signal)
        z = baseline.z(value, window.count)
        ready = baseline.seen >= settings.warmup
        if settings.detector == "ewma":
            score, fired = z, ready and z >= settings.threshold
        else:
            cusum = max(0.0, cusum + z - settings.cusum_slack) if ready else 0.0
            score, fired = cusum, cusum >= settings.threshold
        if fired:
            surges.append(Surge(window.start, window.count, window.negatives, score))
            if settings.detector == "cusum":
                cusum = 0.0
        elif settings.detector == "ewma" or cusum == 0:
            baseline.learn(value)
    return surges
