"""Batched forward passes shared by training-time evaluation, predict and evaluate."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from bizlm.batching import Features, PaddingCollator, length_sorted_batches


def tokenize(
    tokenizer, texts: Sequence[str], max_length: int, pairs: Sequence[str] | None = None
) -> list[Features]:
    """Tokenise texts (or text pairs) without padding (done per batch), cut to ``max_length``.

    Pairs are cut from the longer side first, so both texts keep as much as they can.
    """
    encoded = tokenizer(
        list(texts),
        list(pairs) if pairs is not None else None,
        truncation="longest_first" if pairs is not None else True,
        max_length=max_length,
        padding=False,
    )
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    return [{k: encoded[k][i] for k in keys} for i in range(len(texts))]


def count_truncated(
    tokenizer, texts: Sequence[str], max_length: int, pairs: Sequence[str] | None = None
) -> int:
    """How many texts (or pairs) are longer than ``max_length`` tokens and would be cut."""
    encoded = tokenizer(list(texts), list(pairs) if pairs is not None else None, padding=False)
    return sum(len(ids) > max_length for ids in encoded["input_ids"])


# The fixed cost of one forward call on a CPU, in tokens of work: measured on a 6-layer
# encoder with one and two threads, cutting batches at this price gave 24-35% more texts/s on
# calls of 32 unsorted texts (what a server gathers), 3-5% on sorted ones (bench/batches.py).
CPU_CALL_OVERHEAD_TOKENS = 32


def call_overhead_tokens(device: torch.device) -> int | None:
    """The per-call cost ``batched_outputs`` cuts batches by on ``device``: the CPU's; none on
    accelerators, where a forward call costs much the same whatever its size, so batches stay
    whole."""
    return CPU_CALL_OVERHEAD_TOKENS if device.type == "cpu" else None


def batched_outputs(
    forward: Callable[[dict[str, torch.Tensor]], np.ndarray],
    features: Sequence[Features],
    pad_token_id: int,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
    per_token: bool = False,
    call_overhead: int | None = None,
) -> Any:
    """``forward`` over length-grouped, padded batches; one output row per example, in order.

    With ``per_token`` the outputs are a list of ``(tokens, …)`` arrays, padding removed. With
    ``call_overhead`` (tokens, see ``call_overhead_tokens``) batches are cut where that saves
    padding work, otherwise every batch holds ``batch_size`` examples.
    """
    collate = PaddingCollator(pad_token_id)
    outputs: list[np.ndarray] = [np.empty(0)] * len(features)
    lengths = [len(f["input_ids"]) for f in features]
    for batch_indices in length_sorted_batches(lengths, batch_size, call_overhead):
        batch = collate(
            [{k: v for k, v in features[i].items() if k != "labels"} for i in batch_indices]
        )
        rows = forward(batch)
        for row, index in enumerate(batch_indices):
            width = len(features[index]["input_ids"])
            outputs[index] = rows[row][:width] if per_token else rows[row]
        if on_batch is not None:
            on_batch(len(batch_indices))
    if per_token:
        return outputs
    return np.stack(outputs) if outputs else np.zeros((0, 0), dtype=np.float32)


def torch_forward(model: torch.nn.Module) -> Callable[[dict[str, torch.Tensor]], np.ndarray]:
    """A forward function giving a torch model's logits for a padded batch, as numpy."""
    device = next(model.parameters()).device

    def forward(batch: dict[str, torch.Tensor]) -> np.ndarray:
        inputs = {k: v.to(device) for k, v in batch.items()}
        return model(**inputs).logits.float().cpu().numpy()

    return forward


@contextmanager
def evaluation_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode (no dropout) for the block; restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.inference_mode()
def batched_logits(
    model: torch.nn.Module,
    features: Sequence[Features],
    pad_token_id: int,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
    per_token: bool = False,
) -> Any:
    """Logits of a torch model for every example, in input order (see ``batched_outputs``)."""
    with evaluation_mode(model):
        return batched_outputs(
            torch_forward(model), features, pad_token_id, batch_size, on_batch, per_token
        )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function, numerically stable for large magnitudes."""
    return np.exp(-np.logaddexp(0.0, -logits))
