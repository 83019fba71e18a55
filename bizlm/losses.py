"""Losses every task and training share: the loss function shape and cross-entropy.

A loss function takes the model and a batch and returns a scalar tensor. Labels of ``IGNORED``
(-100, the value transformers uses) do not count.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional

#: the label of a position that no loss counts (sub-word continuations, padding, windows' overlap)
IGNORED = -100

Batch = dict[str, torch.Tensor]
LossFunction = Callable[[torch.nn.Module, Batch], torch.Tensor]


def model_loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """The model's own loss for the batch's labels."""
    return model(**batch).loss


def model_inputs(batch: Batch) -> Batch:
    """The batch without its labels: what the model takes as input."""
    return {name: value for name, value in batch.items() if name != "labels"}


def cross_entropy_loss(
    label_smoothing: float = 0.0, class_weights: torch.Tensor | None = None
) -> LossFunction:
    """Cross-entropy over the model's logits with smoothed targets and weighted classes.

    Works for one label per text and for one label per token (``-100`` labels are ignored).
    """

    def loss(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        logits = model(**model_inputs(batch)).logits
        weights = None if class_weights is None else class_weights.to(logits.device, logits.dtype)
        return functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            batch["labels"].reshape(-1),
            weight=weights,
            label_smoothing=label_smoothing,
            ignore_index=IGNORED,
        )

    return loss
