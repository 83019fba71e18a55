"""Length-grouped batches and dynamic padding."""

from __future__ import annotations

import random

from bizlm.training.batching import LengthGroupedBatchSampler, PaddingCollator


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
