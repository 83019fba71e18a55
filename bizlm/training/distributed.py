"""One loop over several processes and devices: who does what, precision and memory switches.

Under ``bizlm train --processes N`` (or ``accelerate launch``) every process runs the same
training on its slice of each batch. Only the main process evaluates (the scores are broadcast,
so early stopping and the best weights are decided alike everywhere), draws progress, writes
checkpoints and the bundle; the others wait for it where they must. In a single process the
helpers for several processes change nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch
from accelerate import Accelerator, PartialState
from accelerate.state import AcceleratorState
from accelerate.utils import DataLoaderConfiguration, broadcast_object_list, gather_object
from accelerate.utils.environment import parse_flag_from_env

from bizlm.errors import BizlmError, BundleError, RecipeError
from bizlm.progress import Reporter
from bizlm.recipe import TrainConfig

_interrupted = threading.Event()  # Ctrl-C seen in this process, not yet acted on


def process_state() -> PartialState:
    """This process's place among the training processes (one process when not launched)."""
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))


def is_main_process() -> bool:
    """True in the process that evaluates, reports and writes files (and when not launched)."""
    return process_state().is_main_process


def wait_for_everyone() -> None:
    """Block until every training process arrives here."""
    process_state().wait_for_everyone()


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Run the block in the main process first (it fills caches), then in the others.

    When the block fails in the main process, the others raise its message instead of running
    it (a user error is reported from the main process, not as a lost connection everywhere).
    """
    state = process_state()
    if not state.use_distributed:
        yield
        return
    if not state.is_main_process:
        failure = broadcast_object_list([None])[0]
        if failure is not None:
            raise failure
        yield
        return
    try:
        yield
    except BaseException as exc:
        broadcast_object_list([BizlmError(f"The main training process stopped: {exc}")])
        raise
    broadcast_object_list([None])


def check_setup(config: TrainConfig) -> None:
    """Refuse a run this machine cannot do: processes launched together that could not connect
    (a GPU launch configuration on a machine without GPUs), or fp16 on the CPU."""
    state = process_state()
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched != state.num_processes:
        raise BizlmError(
            f"{launched} processes were launched, but each trains alone: the launch asked for "
            f"GPUs and this process found none ({state.device}).",
            hint="On CPUs use `bizlm train RECIPE --processes N`; on GPUs check that "
            "CUDA_VISIBLE_DEVICES names them.",
        )
    if config.mixed_precision == "fp16" and state.device.type == "cpu":
        raise RecipeError(
            "train.mixed_precision 'fp16' needs a GPU, but this run trains on the CPU.",
            hint="Use train.mixed_precision: bf16 (or no) on a CPU, or train on a CUDA GPU.",
        )


def make_accelerator(config: TrainConfig) -> Accelerator:
    """The Accelerator of one training run, with the recipe's precision and accumulation.

    Each process loads whole batches of ``batch_size * processes`` from the batch sampler and
    keeps its own slice of ``batch_size`` (``split_batches``), so N processes see the batches one
    process with an N times larger ``batch_size`` would.
    """
    check_setup(config)
    # The precision is per run, not per Python process: forget the previous run's (the process
    # group itself is kept).
    AcceleratorState._reset_state()
    return Accelerator(
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )


def evaluate_on_main(
    evaluate: Callable[[torch.nn.Module], dict[str, float]], model: torch.nn.Module
) -> dict[str, float]:
    """Scores from the main process, handed to every process (identical decisions everywhere)."""
    scores = [evaluate(model) if is_main_process() else None]
    return broadcast_object_list(scores)[0]


def gather_from_processes(item: Any) -> list[Any]:
    """``item`` of every process, in process order, in every process."""
    return gather_object([item])


def own_entry(entries: list[Any], source: object) -> Any:
    """This process's entry of a list :func:`gather_from_processes` made in an earlier run."""
    state = process_state()
    if len(entries) != state.num_processes:
        raise BundleError(
            f"Checkpoint '{source}' was written by a run of {len(entries)} process(es), "
            f"and this run has {state.num_processes}.",
            hint=f"Resume with the same number of processes (--processes {len(entries)}).",
        )
    return entries[state.process_index]


def defer_interrupts() -> None:
    """Turn Ctrl-C in this process into a request that every process stop after the same batch.

    Call it in each launched process; :class:`ProcessReporter` acts on the request. Raising
    ``KeyboardInterrupt`` at once would leave the other processes waiting in a collective.
    """
    signal.signal(signal.SIGINT, lambda signum, frame: _interrupted.set())


class ProcessReporter(Reporter):
    """Reports through ``inner`` on the main process only; stops all processes together.

    Every process calls :meth:`advance` once per batch, so it is where they agree: when any of
    them saw Ctrl-C (or ``inner`` raised ``KeyboardInterrupt``), all raise it at the same batch.
    """

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.state = process_state()

    def start(self, description: str, total: int) -> None:
        """Start the inner reporter's phase on the main process."""
        if self.state.is_main_process:
            self.inner.start(description, total)

    def advance(self, units: int = 1, **fields: float) -> None:
        """Advance on the main process, then stop everywhere if any process was interrupted."""
        stop = _interrupted.is_set()
        if self.state.is_main_process:
            try:
                self.inner.advance(units, **fields)
            except KeyboardInterrupt:
                stop = True
        flag = torch.tensor([float(stop)], device=self.state.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item():
            _interrupted.clear()
            raise KeyboardInterrupt

    def note(self, message: str) -> None:
        """Show the message once, from the main process."""
        if self.state.is_main_process:
            self.inner.note(message)

    def stop(self) -> None:
        """End the inner reporter's phase on the main process."""
        if self.state.is_main_process:
            self.inner.stop()


def reporter_for_process(reporter: Reporter) -> Reporter:
    """``reporter`` itself in a single process, else a :class:`ProcessReporter` around it."""
    return ProcessReporter(reporter) if process_state().use_distributed else reporter


def enable_gradient_checkpointing(model: torch.nn.Module, reference: str) -> None:
    """Recompute activations in the backward pass instead of keeping them (less memory).

    Call it on the transformers model before a method wraps it; a backbone whose architecture
    cannot do it is refused.
    """
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise RecipeError(
            f"train.gradient_checkpointing is on, but backbone '{reference}' "
            f"({type(model).__name__}) does not support gradient checkpointing.",
            hint="Set train.gradient_checkpointing: false, or choose another backbone.",
        )
    model.activation_checkpointing_enable()
