"""Leave-last-out split by time, user histories, and seeded negative sampling.

Per user, events in time order: the last is the test item, the one before it the validation
item (users with three or more events), the rest is training history. A user with a single
event has nothing to hold out: it stays in training and is counted as skipped from evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bizlm.apps.recommend.interactions import InteractionData


@dataclass
class LeaveLastOut:
    """Per-user histories (item indices in time order), held-out items, and event times."""

    train: list[list[int]]
    validation: dict[int, int]
    test: dict[int, int]
    single_event_users: int
    times: list[list[float]]  # every event of the user, in the same order

    def history_until(self, stage: str) -> list[list[int]]:
        """Histories seen before ``stage``: train (for validation) or train + validation (test)."""
        if stage == "validation":
            return self.train
        return [
            history + ([self.validation[user]] if user in self.validation else [])
            for user, history in enumerate(self.train)
        ]

    def describe(self) -> dict[str, int]:
        """Counts for the report."""
        return {
            "train_events": sum(len(history) for history in self.train),
            "validation_users": len(self.validation),
            "test_users": len(self.test),
            "single_event_users_skipped_from_evaluation": self.single_event_users,
        }


def user_histories(data: InteractionData) -> tuple[list[list[int]], list[list[float]]]:
    """Every user's items and event times in time order (events are sorted by user, time)."""
    histories: list[list[int]] = [[] for _ in data.user_ids]
    times: list[list[float]] = [[] for _ in data.user_ids]
    for user, item, when in zip(
        data.users.tolist(), data.items.tolist(), data.times.tolist(), strict=True
    ):
        histories[user].append(item)
        times[user].append(when)
    return histories, times


def leave_last_out(data: InteractionData) -> LeaveLastOut:
    """Hold out each user's last item (test) and the one before it (validation)."""
    train: list[list[int]] = []
    validation: dict[int, int] = {}
    test: dict[int, int] = {}
    singles = 0
    histories, times = user_histories(data)
    for user, history in enumerate(histories):
        if len(history) < 2:
            singles += 1
            train.append(history)
            continue
        test[user] = history[-1]
        if len(history) >= 3:
            validation[user] = history[-2]
            train.append(history[:-2])
        else:
            train.append(history[:-1])
    return LeaveLastOut(train, validation, test, singles, times)


def sample_negatives(
    rng: np.random.Generator, item_count: int, seen: set[int], count: int
) -> np.ndarray:
    """``count`` distinct items the user has not seen, drawn uniformly (fewer if few remain)."""
    available = item_count - len(seen)
    count = min(count, available)
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if available < 4 * count:
        pool = np.setdiff1d(np.arange(item_count), np.fromiter(seen, dtype=np.int64))
        return rng.choice(pool, size=count, replace=False)
    chosen: list[int] = []
    taken = set(seen)
    while len(chosen) < count:
        for item in rng.integers(0, item_count, size=2 * count).tolist():
            if item not in taken:
                taken.add(item)
                chosen.append(item)
                if len(chosen) == count:
                    break
    return np.array(chosen, dtype=np.int64)


def sample_users(users: list[int], limit: int | None, rng: np.random.Generator) -> list[int]:
    """A seeded subsample of ``limit`` users (all of them when ``limit`` is None or larger)."""
    if limit is None or limit >= len(users):
        return sorted(users)
    return sorted(rng.choice(users, size=limit, replace=False).tolist())
