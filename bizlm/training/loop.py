"""The one training loop: AdamW, linear warmup/decay, accumulation, clipping, early stopping.

Built on Accelerate so the same code runs in one process or under ``accelerate launch``.
The best weights (by the early-stopping metric on validation) are restored at the end, also
when the user presses Ctrl-C, unless the caller asks to keep the last ones.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from accelerate.utils import set_seed
from transformers import PreTrainedModel, get_linear_schedule_with_warmup

from bizlm.batching import Features, LengthGroupedBatchSampler, PaddingCollator
from bizlm.inference import batched_logits
from bizlm.memory import rss_mib
from bizlm.methods.selection import is_head_parameter
from bizlm.metrics.classification import classification_scores
from bizlm.progress import Reporter
from bizlm.recipe import TrainConfig
from bizlm.training.checkpoints import Checkpointer
from bizlm.training.distributed import evaluate_on_main, make_accelerator

LOG_EVERY = 10  # optimizer-independent: a history record every this many batches


@dataclass
class LoopHooks:
    """Task- and method-specific parts of the loop; every one is optional."""

    #: custom loss from (model, batch); default: the model's own loss
    loss_function: Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor] | None = None
    #: called after each optimizer step (AdaLoRA reallocates its ranks here)
    on_optimizer_step: Callable[[torch.nn.Module, int], None] | None = None
    #: padding value of per-token labels (tag tasks); None: one label per example
    label_padding: int | None = None
    #: called after each backward pass with (model, batch, backward) to add adversarial gradients
    adversary: (
        Callable[[torch.nn.Module, dict[str, torch.Tensor], Callable[[torch.Tensor], None]], None]
        | None
    ) = None
    #: called with every record added to the history (trackers log it; a search may prune here)
    on_log: Callable[[dict[str, Any]], None] | None = None
    #: restore the weights with the best validation score at the end; False keeps the last
    #: weights (for a validation split that cannot judge the model, e.g. one missing labels)
    restore_best: bool = True


@dataclass
class LoopResult:
    """What happened during training."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    #: which weights the model holds after the loop: the best evaluation's, or the last step's
    weights_kept: Literal["best", "last"] = "best"
    stopped_early: bool = False
    interrupted: bool = False
    train_seconds: float = 0.0
    samples_seen: int = 0
    optimizer_steps: int = 0
    peak_rss_mb: float = 0.0
    processes: int = 1

    @property
    def samples_per_s(self) -> float:
        """Training throughput, evaluation time excluded."""
        return self.samples_seen / self.train_seconds if self.train_seconds else 0.0


def classification_evaluator(
    features: Sequence[Features], labels: Sequence[int], pad_id: int, batch_size: int
) -> Callable[[torch.nn.Module], dict[str, float]]:
    """Score a single-label classifier on fixed validation features."""

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        return classification_scores(batched_logits(model, features, pad_id, batch_size), labels)

    return evaluate


def chosen_metric(config: TrainConfig, task_default: str) -> str:
    """The early-stopping metric: the recipe's, or the task's own when it says ``auto``."""
    return task_default if config.early_stopping_metric == "auto" else config.early_stopping_metric


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW without weight decay on norms and biases; the head at its own rate if one is set."""
    head = _head_parameter_ids(model) if config.head_learning_rate is not None else set()
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_norm_or_bias = parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        groups.setdefault((id(parameter) in head, is_norm_or_bias), []).append(parameter)
    return torch.optim.AdamW(
        [
            {
                "params": parameters,
                "weight_decay": 0.0 if is_norm_or_bias else config.weight_decay,
                "lr": config.head_learning_rate if in_head else config.learning_rate,
            }
            for (in_head, is_norm_or_bias), parameters in groups.items()
        ],
        lr=config.learning_rate,
    )


def _head_parameter_ids(model: torch.nn.Module) -> set[int]:
    """Ids of the task head's parameters, also inside a peft wrapper."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not isinstance(base, PreTrainedModel):
        return set()
    return {id(p) for name, p in base.named_parameters() if is_head_parameter(base, name)}


def train_loop(
    model: torch.nn.Module,
    train: Sequence[Features],
    evaluate: Callable[[torch.nn.Module], dict[str, float]],
    pad_id: int,
    config: TrainConfig,
    reporter: Reporter,
    metric: str,
    hooks: LoopHooks | None = None,
    checkpointer: Checkpointer | None = None,
) -> LoopResult:
    """Train ``model`` in place on ``train`` (features with a ``labels`` key); return the record.

    ``evaluate`` scores the model on validation (a dict with ``loss`` and ``metric``); the
    weights with the best ``metric`` are restored at the end (unless ``hooks.restore_best`` is
    False).
    """
    hooks = hooks or LoopHooks()
    set_seed(config.seed)
    accelerator = make_accelerator(config)
    sampler = LengthGroupedBatchSampler(  # batches of all processes; each process takes its slice
        [len(f["input_ids"]) for f in train],
        config.batch_size * accelerator.num_processes,
        config.seed,
        config.group_by_length,
    )
    fixed = config.max_length if config.padding == "max_length" else None
    loader = torch.utils.data.DataLoader(
        list(train),
        batch_sampler=sampler,
        collate_fn=PaddingCollator(pad_id, fixed, hooks.label_padding),
    )
    optimizer = _optimizer(model, config)
    steps_per_epoch = math.ceil(len(loader) / config.gradient_accumulation_steps)
    total_steps = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_steps), total_steps
    )
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    result = LoopResult(
        processes=accelerator.num_processes, weights_kept="best" if hooks.restore_best else "last"
    )
    eval_every = max(1, len(loader) // config.evaluations_per_epoch)
    checkpointer = checkpointer or Checkpointer()
    resumed = checkpointer.restore(accelerator.unwrap_model(model), optimizer, scheduler, result)
    best_state, stale = resumed.best_state, resumed.stale
    recent_losses = resumed.recent_losses  # mean training loss of the steps since the last log
    reporter.start("train", len(loader) * config.epochs)
    if resumed.batches_done:
        reporter.advance(resumed.batches_done)
    try:
        for epoch in range(resumed.epoch, config.epochs):
            sampler.set_epoch(epoch)
            model.train()
            started = time.perf_counter()
            for batch_index, batch in checkpointer.batches(loader, epoch):
                with accelerator.accumulate(model):
                    loss = (
                        hooks.loss_function(model, batch)
                        if hooks.loss_function is not None
                        else model(**batch).loss
                    )
                    accelerator.backward(loss)
                    if hooks.adversary is not None:
                        hooks.adversary(model, batch, accelerator.backward)
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                        result.optimizer_steps += 1
                    optimizer.step()
                    scheduler.step()
                    if hooks.on_optimizer_step is not None and accelerator.sync_gradients:
                        hooks.on_optimizer_step(
                            accelerator.unwrap_model(model), result.optimizer_steps
                        )
                    optimizer.zero_grad()
                size = int(batch["labels"].shape[0]) * accelerator.num_processes  # all processes
                result.samples_seen += size
                elapsed = time.perf_counter() - started
                rate = result.samples_seen / (result.train_seconds + elapsed)
                recent_losses.append(accelerator.reduce(loss.detach(), "mean").item())
                smoothed = sum(recent_losses) / len(recent_losses)
                reporter.advance(1, loss=smoothed, samples_per_s=rate)
                step = epoch * len(loader) + batch_index + 1
                if (batch_index + 1) % LOG_EVERY == 0 or batch_index == 0:
                    _record(
                        result,
                        hooks,
                        {
                            "step": step,
                            "epoch": step / len(loader),
                            "train_loss": smoothed,
                            "learning_rate": float(scheduler.get_last_lr()[0]),
                        },
                    )
                    recent_losses.clear()
                if (batch_index + 1) % eval_every == 0 or batch_index + 1 == len(loader):
                    result.train_seconds += time.perf_counter() - started
                    scores = evaluate_on_main(evaluate, accelerator.unwrap_model(model))
                    record = {
                        "step": step,
                        "epoch": step / len(loader),
                        **{f"val_{k}": v for k, v in scores.items()},
                    }
                    _record(result, hooks, record)
                    if _improved(scores, result.best, metric):
                        result.best = record
                        if hooks.restore_best:
                            best_state = _trainable_state(accelerator.unwrap_model(model))
                        stale = 0
                    else:
                        stale += 1
                    shown = "  ".join(f"{k} {v:.4f}" for k, v in scores.items() if v is not None)
                    reporter.note(f"step {step}: val {shown}")
                    started = time.perf_counter()
                    model.train()
                    patience = config.early_stopping_patience
                    if patience is not None and stale >= patience:
                        result.stopped_early = True
                        break
                checkpointer.maybe_save(
                    result, epoch, batch_index + 1, best_state, stale, recent_losses
                )
            if result.stopped_early:
                break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        reporter.stop()
    # plain float32 forward again (no autocast wrapper) for the scoring and export that follow
    model = accelerator.unwrap_model(model, keep_fp32_wrapper=False)
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    result.peak_rss_mb = rss_mib(peak=True)
    return result


def _record(result: LoopResult, hooks: LoopHooks, record: dict[str, Any]) -> None:
    result.history.append(record)
    if hooks.on_log is not None:
        hooks.on_log(record)


def _improved(scores: dict[str, float], best: dict[str, Any] | None, metric: str) -> bool:
    if best is None:
        return True
    if metric == "loss":
        return scores["loss"] < best["val_loss"]
    current, previous = scores.get(metric), best.get(f"val_{metric}")
    if current is None:
        return False
    return previous is None or current > previous


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: copy.deepcopy(v.detach()) for k, v in model.state_dict().items() if k in names}
