"""The small optimizer loop that the out-of-loop prompt methods share (few-shot, PET).

The caller decides what a batch is and how its loss is computed (and back-propagated); this
module owns AdamW, the linear warmup/decay schedule, clipping, progress, history and Ctrl-C.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from bizlm.progress import Reporter
from bizlm.training.loop import LoopResult

Batch = TypeVar("Batch", bound=Sequence[Any])


def run_epochs(
    model: torch.nn.Module,
    parameters: list[torch.nn.Parameter],
    train: Any,
    epochs: list[list[Batch]],
    backward: Callable[[Batch], float],
    reporter: Reporter,
    title: str,
    loss_name: str,
) -> LoopResult:
    """One optimizer step per batch; ``backward(batch)`` computes the gradients, returns the loss.

    ``epochs`` holds each epoch's batches, drawn up front by the caller's seeded sampler.
    The model is in training mode during the loop and back in eval mode afterwards, also when
    the user interrupts (the result then says ``interrupted``).
    """
    steps = sum(len(batches) for batches in epochs)
    optimizer = torch.optim.AdamW(
        parameters, lr=train.learning_rate, weight_decay=train.weight_decay
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(train.warmup_ratio * steps), steps)
    result = LoopResult()
    reporter.start(title, steps)
    started = time.perf_counter()
    model.train()
    try:
        for epoch, batches in enumerate(epochs, start=1):
            losses = []
            for batch in batches:
                losses.append(backward(batch))
                torch.nn.utils.clip_grad_norm_(parameters, train.max_grad_norm)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                result.optimizer_steps += 1
                result.samples_seen += len(batch)
                reporter.advance(1, loss=losses[-1])
            if losses:
                result.history.append({"epoch": epoch, loss_name: float(np.mean(losses))})
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        reporter.stop()
        model.eval()
    result.train_seconds = time.perf_counter() - started
    return result
