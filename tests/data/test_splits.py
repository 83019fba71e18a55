"""Tests for bizlm.data.splits: stratified, deterministic, tiny-set-safe splits and leak checks."""

from __future__ import annotations

from collections import Counter

import pytest

from bizlm.data.splits import find_overlap, stratified_split, unseen_labels
from bizlm.errors import DataError

THREE = {"train": 0.8, "validation": 0.1, "test": 0.1}


def _check_partition(parts: dict[str, list[int]], n: int) -> None:
    everything = [i for indices in parts.values() for i in indices]
    assert sorted(everything) == list(range(n))
    assert all(indices == sorted(indices) for indices in parts.values())


def test_stratified_and_deterministic() -> None:
    labels = ["a"] * 80 + ["b"] * 15 + ["c"] * 5
    parts = stratified_split(labels, THREE, seed=13)
    _check_partition(parts, 100)
    assert [len(parts[name]) for name in THREE] == [80, 10, 10]
    assert Counter(labels[i] for i in parts["train"]) == {"a": 64, "b": 12, "c": 4}
    assert parts == stratified_split(labels, THREE, seed=13)
    assert parts != stratified_split(labels, THREE, seed=14)


def test_singleton_class_falls_back_to_random_split() -> None:
    labels = ["a"] * 20 + ["rare"]
    parts = stratified_split(labels, THREE, seed=1)
    _check_partition(parts, 21)
    assert all(parts[name] for name in THREE)
    assert parts == stratified_split(labels, THREE, seed=1)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7])
def test_tiny_sets(n: int) -> None:
    labels = ["a", "b"] * (n // 2) + ["a"] * (n % 2)
    parts = stratified_split(labels, THREE, seed=0)
    _check_partition(parts, n)
    if n >= 3:
        assert parts["validation"] and parts["test"] and parts["train"]


def test_split_smaller_than_class_count_does_not_crash() -> None:
    labels = [str(i % 5) for i in range(20)]
    parts = stratified_split(labels, THREE, seed=3)
    _check_partition(parts, 20)
    assert [len(parts[name]) for name in THREE] == [16, 2, 2]


def test_two_way_split_without_train_name() -> None:
    parts = stratified_split(["x", "y"] * 10, {"fit": 0.5, "holdout": 0.5}, seed=2)
    _check_partition(parts, 20)
    assert len(parts["holdout"]) == 10


@pytest.mark.parametrize(
    ("fractions", "text"),
    [
        ({"train": 0.8, "test": 0.3}, "sum to 1.1, not 1"),
        ({"train": 1.0, "test": 0.0}, "Split fraction for 'test' is 0.0"),
        ({}, "No split fractions"),
    ],
)
def test_bad_fractions(fractions: dict[str, float], text: str) -> None:
    with pytest.raises(DataError, match=text):
        stratified_split(["a"] * 10, fractions, seed=0)


def test_find_overlap_normalises_whitespace_and_case() -> None:
    assert find_overlap(["Hello  World", "x"], ["hello world", " X ", "new", "HELLO\nworld"]) == 3


def test_unseen_labels() -> None:
    assert unseen_labels(["a", "b"], ["c", "a", "d", "c"]) == ["c", "d"]
