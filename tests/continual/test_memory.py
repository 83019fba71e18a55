"""The class-balanced reservoir memory: bounded, balanced, seeded, stored and restored."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from bizlm.continual.memory import ReplayMemory


def _fill(memory: ReplayMemory, counts: dict[str, int]) -> None:
    labels = [label for label, n in counts.items() for _ in range(n)]
    items = [f"{label}-{i}" for label, n in counts.items() for i in range(n)]
    memory.add_all(labels, items, stage=0)


def test_each_label_keeps_at_most_its_quota_however_unbalanced_the_stream() -> None:
    memory = ReplayMemory(per_class=5)
    _fill(memory, {"big": 1000, "small": 3})
    assert len(memory.items["big"]) == 5
    assert memory.items["small"] == ["small-0", "small-1", "small-2"]
    assert memory.seen == {"big": 1000, "small": 3}
    assert len(memory) == 8


def test_the_draw_is_seeded_and_reaches_late_items() -> None:
    first, second, other = ReplayMemory(5, seed=1), ReplayMemory(5, seed=1), ReplayMemory(5, seed=2)
    for memory in (first, second, other):
        _fill(memory, {"a": 500})
    assert first.items == second.items
    assert first.items != other.items
    assert any(int(item.split("-")[1]) >= 5 for item in first.items["a"])


def test_every_item_has_the_same_chance_to_be_kept() -> None:
    kept: Counter[str] = Counter()
    for seed in range(400):
        memory = ReplayMemory(per_class=2, seed=seed)
        _fill(memory, {"a": 10})
        kept.update(memory.items["a"])
    # each of the 10 items is kept with probability 2/10: 80 of 400 draws on average
    assert all(50 <= kept[f"a-{i}"] <= 110 for i in range(10)), kept


def test_text_memory_round_trips_through_the_bundle(tmp_path: Path) -> None:
    memory = ReplayMemory(per_class=3, seed=7)
    _fill(memory, {"x": 10, "y": 2})
    memory.save(tmp_path)
    loaded = ReplayMemory.load(tmp_path)
    assert loaded is not None
    assert loaded.items == memory.items and loaded.seen == memory.seen
    assert (loaded.per_class, loaded.keep, loaded.seed) == (3, "text", 7)


def test_vector_memory_stores_no_text(tmp_path: Path) -> None:
    memory = ReplayMemory(per_class=2, keep="embeddings")
    memory.add_all(["x", "x", "y"], [torch.ones(4), torch.zeros(4), torch.full((4,), 2.0)], 0)
    memory.save(tmp_path)
    assert not (tmp_path / "continual" / "memory.jsonl").exists()
    loaded = ReplayMemory.load(tmp_path)
    assert loaded is not None
    assert torch.equal(torch.stack(loaded.items["y"]), torch.full((1, 4), 2.0))
    assert len(loaded.items["x"]) == 2


def test_a_folder_without_memory_loads_none(tmp_path: Path) -> None:
    assert ReplayMemory.load(tmp_path) is None


def test_resize_trims_every_label() -> None:
    memory = ReplayMemory(per_class=4)
    _fill(memory, {"a": 9, "b": 2})
    memory.resize(1)
    assert {label: len(items) for label, items in memory.items.items()} == {"a": 1, "b": 1}
