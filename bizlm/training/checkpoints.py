"""Checkpoints that survive a crash (even SIGKILL), and an exact resume from them.

Every ``train.checkpoint_every`` optimizer steps the loop writes ``<output>.checkpoints/step-<N>/``
atomically: trainable weights, optimizer, scheduler and random states, and the loop's position.
A resume restores them and replays the epoch's deterministic batch order up to that position, so
the final weights equal an unbroken run's (same seed and machine). It is refused when the data
checksums or the resolved recipe differ, except ``output``, ``train.checkpoint_every`` and
``train.keep_checkpoints``, which cannot change the weights.
"""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from bizlm.atomic import atomic_directory
from bizlm.errors import BundleError, DataError, RecipeError
from bizlm.recipe import Recipe, load_recipe
from bizlm.training.distributed import gather_from_processes, is_main_process, own_entry

if TYPE_CHECKING:
    from bizlm.training.loop import LoopResult

SUFFIX = ".checkpoints"
META = "checkpoint.json"
STEP = re.compile(r"step-(\d+)")
LOOP_FIELDS = ("optimizer_steps", "samples_seen", "train_seconds", "history", "best")

State = dict[str, torch.Tensor]


@dataclass
class Resumed:
    """The loop's position and bookkeeping at a checkpoint (all empty for a fresh start)."""

    epoch: int = 0
    batches_done: int = 0  # over all epochs, for the progress bar
    best_state: State | None = None
    stale: int = 0
    recent_losses: list[float] = field(default_factory=list)


def checkpoint_folder(output: Path) -> Path:
    """Where the checkpoints of the run writing bundle ``output`` go: ``<output>.checkpoints``."""
    output = Path(output)
    return output.with_name(output.name + SUFFIX)


def fingerprint(resolved: dict[str, Any], data_summary: dict[str, Any]) -> dict[str, Any]:
    """What must match for a resume to be exact: the recipe (see module doc) and the data."""
    recipe = copy.deepcopy(resolved)
    recipe.pop("output", None)  # these decide where and how often to save, not the weights
    for key in ("checkpoint_every", "keep_checkpoints"):
        recipe.get("train", {}).pop(key, None)
    files = data_summary.get("files", {})
    return {"recipe": recipe, "data": sorted(entry["sha256"] for entry in files.values())}


def _steps(folder: Path) -> list[Path]:
    """Complete checkpoints in ``folder``, oldest first."""
    found = [p for p in folder.glob("step-*") if STEP.fullmatch(p.name) and (p / META).is_file()]
    return sorted(found, key=lambda p: int(p.name.removeprefix("step-")))


def find_checkpoint(location: Path) -> Path:
    """The checkpoint in ``location``: a ``step-<N>`` folder, or the latest one of a
    ``.checkpoints`` folder or of a run's output folder (the bundle path)."""
    location = Path(location)
    if (location / META).is_file():
        return location
    folder = location if location.name.endswith(SUFFIX) else checkpoint_folder(location)
    steps = _steps(folder)
    if not steps:
        raise BundleError(
            f"No checkpoint to resume from: expected folders named step-<N> in '{folder}', "
            "which training writes when train.checkpoint_every is set.",
            hint="Pass the output folder of a run trained with train.checkpoint_every "
            "(e.g. --resume runs/model), or start a fresh run without --resume.",
        )
    return steps[-1]


def _read_meta(checkpoint: Path) -> dict[str, Any]:
    try:
        return json.loads((checkpoint / META).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(
            f"Checkpoint '{checkpoint}' is damaged: {META} cannot be read ({exc}).",
            hint="Delete that folder to resume from the checkpoint before it.",
        ) from None


def recipe_from_checkpoint(location: Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """The recipe a checkpointed run started with; its bundle goes to the run's output folder."""
    checkpoint = find_checkpoint(location)
    raw = _read_meta(checkpoint)["recipe"]
    folder = checkpoint.parent
    raw["output"] = str(folder.with_name(folder.name.removesuffix(SUFFIX)))
    return load_recipe(raw, overrides)


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix.removesuffix("."): node}
    return {
        k: v for key, value in node.items() for k, v in _flatten(value, f"{prefix}{key}.").items()
    }


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    old, new, absent = _flatten(saved), _flatten(current), "(absent)"
    return [
        f"{key}: {json.dumps(old.get(key, absent))} -> {json.dumps(new.get(key, absent))}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key, absent) != new.get(key, absent)
    ]


def open_checkpoints(
    recipe: Recipe, output: Path, data_summary: dict[str, Any], resume: bool | str | Path
) -> Checkpointer:
    """The checkpointer of a run; ``resume``: False, True (the latest checkpoint of ``output``)
    or a path (see :func:`find_checkpoint`). Another recipe's or data's checkpoint is refused."""
    current = fingerprint(recipe.resolved(), data_summary)
    source = None
    if resume:
        source = find_checkpoint(checkpoint_folder(output) if resume is True else Path(resume))
        saved = _read_meta(source)["fingerprint"]
        changed = _differences(saved["recipe"], current["recipe"])
        if changed:
            listed = "; ".join(changed)
            raise RecipeError(
                f"The recipe differs from the one checkpoint '{source}' was made with: {listed}.",
                hint=f"Resume with the run's own recipe (saved in {source / META}), "
                "or start a fresh run without --resume.",
            )
        if saved["data"] != current["data"]:
            raise DataError(
                f"The data files changed since checkpoint '{source}' was made (checksums differ).",
                hint="Resume with the data the run started with, or start a fresh run.",
            )
    identity = {"fingerprint": current, "recipe": recipe.resolved()}
    every, keep = recipe.train.checkpoint_every, recipe.train.keep_checkpoints
    return Checkpointer(checkpoint_folder(output), every, keep, identity, source)


@dataclass
class Checkpointer:
    """Saves the loop's state every ``every`` optimizer steps and restores it on resume.

    ``Checkpointer()`` saves and restores nothing. The loop calls :meth:`restore` once before the
    first epoch, iterates :meth:`batches`, and calls :meth:`maybe_save` after each batch.
    """

    folder: Path | None = None
    every: int | None = None
    keep: int = 2
    identity: dict[str, Any] = field(default_factory=dict)  # fingerprint and recipe
    source: Path | None = None

    def __post_init__(self) -> None:
        self._objects: tuple[torch.nn.Module, Any, Any] | None = None
        self._last_saved = 0
        self._skip: tuple[int, int] = (0, 0)  # (epoch, batches of it already done)
        self._rng: dict[str, Any] | None = None  # restored once the epoch's batches are set up
        self._batches_per_epoch = 0
        self._cleared = self.source is not None  # a fresh run replaces an older run's checkpoints

    def restore(
        self, model: torch.nn.Module, optimizer: Any, scheduler: Any, result: LoopResult
    ) -> Resumed:
        """Remember what to save; when resuming, load every state and fill ``result``."""
        self._objects = (model, optimizer, scheduler)
        if self.source is None:
            return Resumed()
        meta = _read_meta(self.source)
        weights = load_file(self.source / "model.safetensors")
        unexpected = model.load_state_dict(weights, strict=False).unexpected_keys
        if unexpected:
            raise BundleError(
                f"Checkpoint '{self.source}' holds weights the model lacks: {unexpected[0]}.",
                hint="Resume with the recipe (model and method) the run started with.",
            )
        states = torch.load(self.source / "states.pt", weights_only=True)
        optimizer.load_state_dict(states["optimizer"])
        scheduler.load_state_dict(states["scheduler"])
        self._rng = own_entry(states["rng"], self.source)  # one entry per training process
        for name in LOOP_FIELDS:
            setattr(result, name, meta[name])
        best = self.source / "best.safetensors"
        self._skip = (meta["epoch"], meta["batches_done"])
        self._last_saved = result.optimizer_steps
        return Resumed(
            epoch=meta["epoch"],
            batches_done=meta["batch_step"],
            best_state=load_file(best) if best.is_file() else None,
            stale=meta["stale"],
            recent_losses=meta["recent_losses"],
        )

    def batches(self, loader: Any, epoch: int) -> Iterator[tuple[int, Any]]:
        """``(index, batch)`` of ``epoch``, without the batches a resumed checkpoint had done.

        Random states come back where they were saved: before the iterator starts (the
        checkpoint closed an epoch), else just before the first batch not yet done.
        """
        loader.set_epoch(epoch)  # the prepared loader, not the sampler, decides the shuffle
        self._batches_per_epoch = len(loader)
        skip = self._skip[1] if epoch == self._skip[0] else 0
        if skip >= len(loader):
            return
        if skip == 0:
            self._restore_rng()
        for index, batch in enumerate(loader):
            if index >= skip:
                self._restore_rng()
                yield index, batch

    def _restore_rng(self) -> None:
        if self._rng is not None:
            _set_rng_state(self._rng)
            self._rng = None  # once

    def maybe_save(
        self,
        result: LoopResult,
        epoch: int,
        batches_done: int,
        best_state: State | None,
        stale: int,
        recent_losses: list[float],
    ) -> None:
        """Write a checkpoint if an optimizer step just completed a multiple of ``every``."""
        steps = result.optimizer_steps
        if self.folder is None or not self.every or steps % self.every or steps == self._last_saved:
            return
        assert self._objects is not None, "restore() binds the model before the first save"
        model, optimizer, scheduler = self._objects
        self._last_saved = steps
        random_states = gather_from_processes(_rng_state())  # in every process, in their order
        if not is_main_process():  # the main process alone writes
            return
        if not self._cleared:  # a fresh run replaces an older run's checkpoints
            shutil.rmtree(self.folder, ignore_errors=True)
            self._cleared = True
        best = result.best["step"] if result.best else None
        meta = {
            "epoch": epoch,
            "batches_done": batches_done,
            "batch_step": epoch * self._batches_per_epoch + batches_done,
            "best_step": best,
            **{name: getattr(result, name) for name in LOOP_FIELDS},
            "stale": stale,
            "recent_losses": recent_losses,
            **self.identity,
        }
        with atomic_directory(self.folder / f"step-{steps}") as staging:
            trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
            save_file(_plain(trainable), staging / "model.safetensors")
            if best_state is not None:
                save_file(_plain(best_state), staging / "best.safetensors")
            states = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
            torch.save({**states, "rng": random_states}, staging / "states.pt")
            (staging / META).write_text(json.dumps(meta, indent=1, default=float), encoding="utf-8")
        old = [p for p in _steps(self.folder)[: -self.keep] if _read_meta(p)["batch_step"] != best]
        for path in old + list(self.folder.glob(".step-*")):  # and those a kill left half-written
            shutil.rmtree(path, ignore_errors=True)


def _plain(state: State) -> State:
    """Detached, contiguous CPU copies that share no memory (what safetensors accepts)."""
    return {name: t.detach().to("cpu", copy=True).contiguous() for name, t in state.items()}


def _rng_state() -> dict[str, Any]:
    name, keys, position, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
