"""Behaviour signals from interactions alone: popularity, item-based CF, recency.

The item-item similarity is the cosine of the items' user columns in the binary user-item
matrix (co-occurrence over the square root of both counts), the classic item-based
collaborative filter. A user's CF score for a candidate is the mean similarity to the items in
the user's history; the "recent" variant uses only the last few items.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

SECONDS_PER_DAY = 86_400.0


class Behaviour:
    """Statistics of a set of user histories over ``item_count`` items."""

    def __init__(
        self,
        histories: list[list[int]],
        item_count: int,
        last_seen: np.ndarray | None = None,
        recent_items: int = 5,
    ) -> None:
        rows = [user for user, history in enumerate(histories) for _ in history]
        cols = [item for history in histories for item in history]
        matrix = sparse.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), (rows, cols)),
            shape=(len(histories), item_count),
        )
        matrix.data[:] = 1.0  # a repeated event counts once
        self.counts = np.asarray(matrix.sum(axis=0)).ravel()
        co_occurrence = (matrix.T @ matrix).toarray()
        norms = np.sqrt(np.maximum(self.counts, 1.0))
        self.similarity = co_occurrence / norms[:, None] / norms[None, :]
        np.fill_diagonal(self.similarity, 0.0)
        self.recent_items = recent_items
        self.last_seen = last_seen if last_seen is not None else np.zeros(item_count)
        self.now = float(self.last_seen.max()) if len(self.last_seen) else 0.0

    def popularity(self, candidates: np.ndarray) -> np.ndarray:
        """log(1 + number of users who interacted with each candidate)."""
        return np.log1p(self.counts[candidates])

    def collaborative(self, history: list[int], candidates: np.ndarray) -> np.ndarray:
        """Mean item-item similarity of each candidate to the history (0 without history)."""
        if not history:
            return np.zeros(len(candidates))
        return self.similarity[np.asarray(history)][:, candidates].mean(axis=0)

    def collaborative_recent(self, history: list[int], candidates: np.ndarray) -> np.ndarray:
        """The same, over the last ``recent_items`` items only."""
        return self.collaborative(history[-self.recent_items :], candidates)

    def days_since_seen(self, candidates: np.ndarray) -> np.ndarray:
        """log(1 + days since anyone last interacted with the item); never seen: the largest."""
        seen = self.last_seen[candidates]
        days = np.where(seen > 0, (self.now - seen) / SECONDS_PER_DAY, self._oldest_days())
        return np.log1p(np.maximum(days, 0.0))

    def most_popular(self, count: int, exclude: set[int]) -> list[int]:
        """The ``count`` most popular items not in ``exclude`` (ties: lower index first)."""
        order = np.argsort(-self.counts, kind="stable")
        return [int(i) for i in order if int(i) not in exclude][:count]

    def _oldest_days(self) -> float:
        seen = self.last_seen[self.last_seen > 0]
        return float((self.now - seen.min()) / SECONDS_PER_DAY) if len(seen) else 0.0


def last_seen_times(
    histories: list[list[int]], times: list[list[float]], item_count: int
) -> np.ndarray:
    """The latest event time of each item in these histories (0 when never seen)."""
    latest = np.zeros(item_count)
    for history, stamps in zip(histories, times, strict=True):
        for item, when in zip(history, stamps, strict=False):
            latest[item] = max(latest[item], when)
    return latest
