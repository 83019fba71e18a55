"""Batches for training and inference: length grouping and dynamic padding."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch

Features = dict[str, Any]  # input_ids, attention_mask, … and optionally labels


class LengthGroupedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Shuffled batches whose members have similar lengths, so little padding is needed.

    Indices are shuffled, cut into mega-batches of ``batch_size * group_factor``, each sorted by
    length and cut into batches; the batch order is shuffled again. With ``group=False`` it is a
    plain shuffled batch sampler. The order depends only on ``seed`` and the epoch.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        seed: int,
        group: bool = True,
        group_factor: int = 50,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group = group
        self.group_factor = group_factor
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose shuffle to produce (each epoch has its own order)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        rng = random.Random(self.seed * 1000003 + self.epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if not self.group:
            yield from _chunks(order, self.batch_size)
            return
        mega = self.batch_size * self.group_factor
        batches: list[list[int]] = []
        for start in range(0, len(order), mega):
            block = sorted(order[start : start + mega], key=lambda i: -self.lengths[i])
            batches.extend(_chunks(block, self.batch_size))
        rng.shuffle(batches)
        yield from batches


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PaddingCollator:
    """Pad a list of tokenised examples to the longest one (or to ``max_length``).

    With ``label_padding``, labels are per token (one per input id) and padded with it.
    """

    def __init__(
        self, pad_token_id: int, max_length: int | None = None, label_padding: int | None = None
    ) -> None:
        self.pad_token_id = pad_token_id
        self.max_length = max_length
        self.label_padding = label_padding

    def __call__(self, examples: Sequence[Features]) -> dict[str, torch.Tensor]:
        width = self.max_length or max(len(e["input_ids"]) for e in examples)
        batch: dict[str, torch.Tensor] = {}
        for key in examples[0]:
            if key == "labels":
                continue
            fill = self.pad_token_id if key == "input_ids" else 0
            rows = [e[key] + [fill] * (width - len(e[key])) for e in examples]
            batch[key] = torch.tensor(rows, dtype=torch.long)
        if "labels" in examples[0]:
            labels = [e["labels"] for e in examples]
            if self.label_padding is not None:
                labels = [row + [self.label_padding] * (width - len(row)) for row in labels]
            batch["labels"] = torch.tensor(labels)
        return batch


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, call_overhead_tokens: int | None = None
) -> list[list[int]]:
    """Inference batches: indices sorted by length (longest first), cut into batches.

    Without ``call_overhead_tokens`` every batch but the last holds ``batch_size`` examples.
    With it, the cuts minimise the padded tokens computed plus that many tokens per batch (the
    fixed cost of one forward call), so a few long texts no longer pad many short ones to their
    width: a batch is cut where the length drops enough to pay for another call.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    if call_overhead_tokens is None:
        return list(_chunks(order, batch_size))
    return [
        order[start:end]
        for start, end in _cheapest_cuts(
            [lengths[i] for i in order], batch_size, call_overhead_tokens
        )
    ]


def _cheapest_cuts(
    descending: Sequence[int], batch_size: int, call_cost: int
) -> list[tuple[int, int]]:
    """(start, end) spans over lengths sorted longest first that minimise the summed cost
    ``call_cost + size * longest`` of their batches, each at most ``batch_size`` long."""
    cost = [0] * (len(descending) + 1)
    start_of = [0] * (len(descending) + 1)
    for end in range(1, len(descending) + 1):
        best_cost, best_start = None, 0
        for start in range(max(0, end - batch_size), end):  # largest batch first wins ties
            candidate = cost[start] + call_cost + (end - start) * descending[start]
            if best_cost is None or candidate < best_cost:
                best_cost, best_start = candidate, start
        cost[end], start_of[end] = best_cost, best_start
    spans, end = [], len(descending)
    while end > 0:
        spans.append((start_of[end], end))
        end = start_of[end]
    return spans[::-1]
