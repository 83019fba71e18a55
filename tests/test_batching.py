"""Length-grouped batches and dynamic padding."""

from __future__ import annotations

import random

from bizlm.batching import (
    LengthGroupedBatchSampler,
    PaddingCollator,
    length_sorted_batches,
)


def padded_tokens(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(max(lengths[i] for i in batch) * len(batch) for batch in batches)


def test_grouping_covers_every_index_once_and_cuts_padding() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(5, 120) for _ in range(1000)]
    grouped = list(LengthGroupedBatchSampler(lengths, 16, seed=1, group=True))
    plain = list(LengthGroupedBatchSampler(lengths, 16, seed=1, group=False))
    for batches in (grouped, plain):
        assert sorted(i for b in batches for i in b) == list(range(1000))
    assert padded_tokens(grouped, lengths) < 0.7 * padded_tokens(plain, lengths)


def test_order_depends_on_seed_and_epoch_only() -> None:
    lengths = list(range(200))
    sampler = LengthGroupedBatchSampler(lengths, 8, seed=3)
    first = list(sampler)
    assert first == list(LengthGroupedBatchSampler(lengths, 8, seed=3))
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_collator_pads_to_longest_or_fixed_width() -> None:
    examples = [
        {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": 1},
        {"input_ids": [8], "attention_mask": [1], "labels": 0},
    ]
    batch = PaddingCollator(pad_token_id=0)(examples)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    assert PaddingCollator(0, max_length=5)(examples)["input_ids"].shape == (2, 5)


def batch_cost(batches: list[list[int]], lengths: list[int], call_cost: int) -> int:
    return padded_tokens(batches, lengths) + call_cost * len(batches)


def cheapest_cost_by_search(lengths: list[int], batch_size: int, call_cost: int) -> int:
    """Every way of cutting the sorted lengths into runs, tried one by one."""
    ordered = sorted(lengths, reverse=True)
    best = None
    for mask in range(2 ** (len(ordered) - 1)):
        cuts = [i + 1 for i in range(len(ordered) - 1) if mask >> i & 1]
        spans = list(zip([0, *cuts], [*cuts, len(ordered)], strict=True))
        if any(end - start > batch_size for start, end in spans):
            continue
        cost = sum(call_cost + (end - start) * ordered[start] for start, end in spans)
        best = cost if best is None else min(best, cost)
    return best


def test_sorted_batches_are_whole_without_a_call_cost() -> None:
    lengths = [3, 9, 1, 7, 5]
    assert length_sorted_batches(lengths, 2) == [[1, 3], [4, 0], [2]]


def test_call_cost_cuts_long_texts_away_from_short_ones() -> None:
    lengths = [60, 10, 58, 9, 8, 7]
    # one batch: 32 + 6 * 60 = 392 tokens of work; two: (32 + 2 * 60) + (32 + 4 * 10) = 224
    assert length_sorted_batches(lengths, 32, call_overhead_tokens=32) == [[0, 2], [1, 3, 4, 5]]
    assert length_sorted_batches(lengths, 32) == [[0, 2, 1, 3, 4, 5]]


def test_equal_lengths_keep_full_batches_under_a_call_cost() -> None:
    batches = length_sorted_batches([12] * 10, 4, call_overhead_tokens=32)
    assert len(batches) == 3  # as few calls as batch_size allows
    assert sorted(i for b in batches for i in b) == list(range(10))


def test_call_cost_cuts_are_the_cheapest_possible() -> None:
    rng = random.Random(5)
    for _ in range(40):
        lengths = [rng.randint(1, 64) for _ in range(rng.randint(1, 11))]
        batch_size, call_cost = rng.randint(1, 6), rng.choice([0, 8, 32, 200])
        batches = length_sorted_batches(lengths, batch_size, call_overhead_tokens=call_cost)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(len(b) <= batch_size for b in batches)
        assert batch_cost(batches, lengths, call_cost) == cheapest_cost_by_search(
            lengths, batch_size, call_cost
        )
