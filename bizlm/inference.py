"""Batched forward passes shared by training-time evaluation, predict and evaluate."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from bizlm.training.batching import Features, PaddingCollator, length_sorted_batches


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> list[Features]:
    """Tokenise texts without padding (padding is done per batch), truncating to ``max_length``."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    return [{k: encoded[k][i] for k in keys} for i in range(len(texts))]


def batched_outputs(
    forward: Callable[[dict[str, torch.Tensor]], np.ndarray],
    features: Sequence[Features],
    pad_token_id: int,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """``forward`` over length-grouped, padded batches; one output row per example, in order."""
    collate = PaddingCollator(pad_token_id)
    outputs: list[np.ndarray] = [np.empty(0)] * len(features)
    for batch_indices in length_sorted_batches([len(f["input_ids"]) for f in features], batch_size):
        batch = collate(
            [{k: v for k, v in features[i].items() if k != "labels"} for i in batch_indices]
        )
        rows = forward(batch)
        for row, index in enumerate(batch_indices):
            outputs[index] = rows[row]
        if on_batch is not None:
            on_batch(len(batch_indices))
    return np.stack(outputs) if outputs else np.zeros((0, 0), dtype=np.float32)


@torch.inference_mode()
def batched_logits(
    model: torch.nn.Module,
    features: Sequence[Features],
    pad_token_id: int,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Logits of a torch model for every example, in input order."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device

    def forward(batch: dict[str, torch.Tensor]) -> np.ndarray:
        inputs = {k: v.to(device) for k, v in batch.items()}
        return model(**inputs).logits.float().cpu().numpy()

    try:
        return batched_outputs(forward, features, pad_token_id, batch_size, on_batch)
    finally:
        model.train(was_training)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
