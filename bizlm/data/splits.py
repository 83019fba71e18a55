"""Deterministic stratified splits and leakage checks between splits."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

from bizlm.errors import DataError

_TOLERANCE = 1e-6


def stratified_split(
    labels: list[str], fractions: dict[str, float], seed: int
) -> dict[str, list[int]]:
    """Split indices ``0..len(labels)-1`` into disjoint, sorted lists, one per fraction.

    The split is stratified by label and repeatable for a seed. The split named "train" (or
    the first one) gets what the others leave; with 3 items or more every other split gets at
    least one. When stratifying is impossible (a class with a single member, or a split smaller
    than the number of classes) the whole set is split at random instead, still seeded.
    """
    _check_fractions(fractions)
    train = "train" if "train" in fractions else next(iter(fractions))
    sizes = _split_sizes(len(labels), fractions, train)
    parts = _stratified(labels, sizes, train, seed) or _random(len(labels), sizes, seed)
    return {name: sorted(int(i) for i in parts[name]) for name in fractions}


def find_overlap(train_texts: list[str], other_texts: list[str]) -> int:
    """Count the items of ``other_texts`` whose normalised text also occurs in ``train_texts``.

    Texts are compared with whitespace runs collapsed and case folded.
    """
    seen = {_normalise(text) for text in train_texts}
    return sum(_normalise(text) in seen for text in other_texts)


def unseen_labels(train_labels: list[str], other_labels: list[str]) -> list[str]:
    """Return the sorted labels that occur in ``other_labels`` but never in ``train_labels``."""
    return sorted(set(other_labels) - set(train_labels))


def rare_labels(targets: Sequence[str | list[str]], parts: int) -> dict[str, int]:
    """The labels with fewer examples than ``parts`` (the number of splits made from one file),
    each with its count, sorted by label.

    Such a label cannot be in every split; ``targets`` holds one label per example, or a list
    of labels (multi-label), where every label of the list counts.
    """
    counts = Counter(
        label for target in targets for label in (target if isinstance(target, list) else [target])
    )
    return {label: count for label, count in sorted(counts.items()) if count < parts}


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def _check_fractions(fractions: dict[str, float]) -> None:
    example = "e.g. train 0.8, validation 0.1, test 0.1"
    if not fractions:
        raise DataError("No split fractions were given.", hint=f"Give at least one, {example}.")
    for name, value in fractions.items():
        if not isinstance(value, (int, float)) or not value > 0:
            raise DataError(
                f"Split fraction for '{name}' is {value!r}; each fraction must be above 0.",
                hint=f"Remove that split or give it a positive share, {example}.",
            )
    total = math.fsum(fractions.values())
    if abs(total - 1) > _TOLERANCE:
        shown = ", ".join(f"{name} {value:g}" for name, value in fractions.items())
        raise DataError(
            f"Split fractions ({shown}) sum to {total:g}, not 1.",
            hint=f"Adjust them so they add up to 1, {example}.",
        )


def _split_sizes(n: int, fractions: dict[str, float], train: str) -> dict[str, int]:
    others = [name for name in fractions if name != train]
    if n >= len(fractions):
        sizes = {name: max(1, math.floor(fractions[name] * n + 0.5)) for name in others}
        while sum(sizes.values()) > n - 1:
            biggest = max(others, key=sizes.__getitem__)
            sizes[biggest] -= 1
    else:
        sizes = {name: int(0 < position < n) for position, name in enumerate(others, start=1)}
    sizes[train] = n - sum(sizes.values())
    return sizes


def _stratified(
    labels: list[str], sizes: dict[str, int], train: str, seed: int
) -> dict[str, np.ndarray] | None:
    pool = np.arange(len(labels))
    parts: dict[str, np.ndarray] = {}
    for name, size in sizes.items():
        if name == train or size == 0:
            parts[name] = pool[:0]
            continue
        pool_labels = [labels[i] for i in pool]
        counts = Counter(pool_labels)
        classes = len(counts)
        if min(counts.values()) < 2 or size < classes or len(pool) - size < classes:
            return None
        pool, parts[name] = train_test_split(
            pool, test_size=size, stratify=pool_labels, random_state=seed
        )
    parts[train] = pool
    return parts


def _random(n: int, sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    parts: dict[str, np.ndarray] = {}
    start = 0
    for name, size in sizes.items():
        parts[name] = order[start : start + size]
        start += size
    return parts
