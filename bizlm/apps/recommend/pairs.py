"""Profile texts and the (profile, item) training pairs both text models learn from.

A profile is the text of the user's most recent items, newest first, so that truncation cuts
the oldest. Each training pair joins the profile *before* an item with that item, which is how
the models are used at ranking time (profile of the history, candidate item).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bizlm.apps.recommend.split import sample_negatives

NEW_USER_PROFILE = "No items yet."
PROFILE_SEPARATOR = " | "


def profile_text(history: list[int], item_texts: list[str], recent_items: int) -> str:
    """The texts of the last ``recent_items`` items, newest first."""
    recent = history[-recent_items:]
    if not recent:
        return NEW_USER_PROFILE
    return PROFILE_SEPARATOR.join(item_texts[item] for item in reversed(recent))


@dataclass
class Pair:
    """One (user, profile, item) example; ``label`` is 1 for what the user did next, else 0."""

    user: int
    profile: str
    item: int
    label: int


def positive_pairs(
    histories: list[list[int]],
    users: list[int],
    item_texts: list[str],
    recent_items: int,
    per_user: int,
) -> list[Pair]:
    """The last ``per_user`` items of each user's history, each with the profile before it."""
    pairs = []
    for user in users:
        history = histories[user]
        for position in range(max(1, len(history) - per_user), len(history)):
            profile = profile_text(history[:position], item_texts, recent_items)
            pairs.append(Pair(user, profile, history[position], 1))
    return pairs


def with_negatives(
    positives: list[Pair],
    histories: list[list[int]],
    item_count: int,
    per_positive: int,
    rng: np.random.Generator,
) -> list[Pair]:
    """Each positive followed by ``per_positive`` sampled items the user never interacted with."""
    pairs = []
    for pair in positives:
        pairs.append(pair)
        seen = set(histories[pair.user])
        for item in sample_negatives(rng, item_count, seen, per_positive).tolist():
            pairs.append(Pair(pair.user, pair.profile, item, 0))
    return pairs
