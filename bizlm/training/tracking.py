"""Experiment tracking: a training run's params, metrics and reports, to TensorBoard and/or MLflow.

:func:`open_tracker` builds a :class:`RunTracker` from the recipe's ``track:`` section; the
training loop hands it every history record (``LoopHooks.on_log``), and :meth:`RunTracker.finish`
adds the final scores and the bundle's documents. With tracking off it only passes records on
to its observers (``bizlm tune`` prunes trials through one).
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bizlm.bundle_info import BundleInfo
from bizlm.sections.track import TrackConfig
from bizlm.training.distributed import is_main_process
from bizlm.training.mlflow_tracking import MlflowTracker
from bizlm.training.tracker_base import Tracker

Observer = Callable[[dict[str, Any]], None]


class TensorBoardTracker(Tracker):
    """Event files for ``tensorboard --logdir``: scalars, a params table, hparams, model card."""

    def __init__(self, log_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(str(self.log_dir))
        self.params: dict[str, Any] = {}
        self.last: dict[str, float] = {}

    def log_params(self, params: dict[str, Any]) -> None:
        """Write the params as a two-column markdown table (the TEXT tab)."""
        self.params.update(params)
        rows = "\n".join(f"| {key} | {value} |" for key, value in params.items())
        self.writer.add_text("params", f"| param | value |\n|---|---|\n{rows}")

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """One scalar a metric, tagged ``val/…``, ``final/…`` or ``train/…`` by its prefix."""
        for name, value in metrics.items():
            self.writer.add_scalar(_tag(name), value, step)
            self.last[_tag(name)] = value

    def log_artifacts(self, folder: Path) -> None:
        """Show the model card in the TEXT tab."""
        card = Path(folder) / "MODEL_CARD.md"
        if card.is_file():
            self.writer.add_text("model_card", card.read_text(encoding="utf-8"))

    def close(self, status: str = "FINISHED") -> None:
        """Write the HParams summary (params against the last value of each metric), close."""
        from torch.utils.tensorboard.summary import hparams

        shown = {k: v for k, v in self.params.items() if isinstance(v, int | float | str | bool)}
        if shown and self.last:
            for summary in hparams(shown, dict(self.last)):
                self.writer.file_writer.add_summary(summary)
        self.writer.add_text("status", status)
        self.writer.close()


def _tag(name: str) -> str:
    for prefix in ("val_", "final_"):
        if name.startswith(prefix):
            return f"{prefix[:-1]}/{name.removeprefix(prefix)}"
    return f"train/{name.removeprefix('train_')}"


class RunTracker:
    """All trackers of one run, plus observers that see every history record."""

    def __init__(self, trackers: Sequence[Tracker] = (), observers: Sequence[Observer] = ()):
        self.trackers = list(trackers)
        self.observers = list(observers)
        self.step = 0
        if self.trackers:  # a run that dies with its process is marked FAILED, not left open
            atexit.register(self.close, "FAILED")

    def log_params(self, params: dict[str, Any]) -> None:
        """Pass flat params to every tracker."""
        for tracker in self.trackers:
            tracker.log_params(params)

    def on_log(self, record: dict[str, Any]) -> None:
        """Log one history record of the loop, then show it to the observers.

        An observer may raise to stop training (a pruned search trial): the run is then closed
        as KILLED and the exception goes on.
        """
        self.step = int(record.get("step", self.step))
        numbers = {k: float(v) for k, v in record.items() if k != "step" and _is_number(v)}
        for tracker in self.trackers:
            tracker.log_metrics(self.step, numbers)
        try:
            for observer in self.observers:
                observer(record)
        except BaseException:
            self.close("KILLED")  # stopped on purpose (a pruned search trial)
            raise

    def finish(self, bundle: Path, info: BundleInfo) -> None:
        """Log the final scores and the bundle's documents; close every tracker."""
        finals = {f"final_{k}": v for k, v in final_metrics(info).items()}
        for tracker in self.trackers:
            tracker.log_metrics(self.step, finals)
            tracker.log_artifacts(bundle)
        interrupted = (info.training or {}).get("interrupted", False)
        self.close("KILLED" if interrupted else "FINISHED")

    def close(self, status: str = "FINISHED") -> None:
        """Close every tracker with ``status``."""
        if self.trackers:
            atexit.unregister(self.close)
        for tracker in self.trackers:
            tracker.close(status)
        self.trackers = []


def final_metrics(info: BundleInfo) -> dict[str, float]:
    """Headline scores of a bundle's info (``test_*`` and ``validation_*``), and throughput."""
    metrics = info.metrics
    where = metrics.get("evaluated_on", "validation")
    finals = {f"{where}_{k}": float(v) for k, v in metrics.items() if _is_number(v)}
    for key, value in (metrics.get("validation") or {}).items():
        if _is_number(value):
            finals[f"validation_{key}"] = float(value)
    training = info.training or {}
    for key in ("train_seconds", "samples_per_s"):
        if _is_number(training.get(key)):
            finals[key] = float(training[key])
    return finals


def flatten_params(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 3}}`` → ``{"train.epochs": 3}``; lists and None as JSON text."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_params(value, f"{name}."))
        elif isinstance(value, int | float | str | bool):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def open_tracker(
    recipe_dict: dict[str, Any],
    track: TrackConfig,
    output: Path,
    observers: Sequence[Observer] = (),
) -> RunTracker:
    """The trackers ``track`` turns on (in the main process only), with ``recipe_dict`` logged."""
    trackers: list[Tracker] = []
    if (track.tensorboard or track.mlflow) and is_main_process():
        run_name = track.run_name or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        if track.tensorboard:
            root = track.tensorboard_dir or output.with_name(f"{output.name}.tb")
            trackers.append(TensorBoardTracker(Path(root) / run_name))
        if track.mlflow:
            experiment = track.experiment or output.name
            tags = {"bizlm.output": str(output)}
            trackers.append(
                MlflowTracker(track.mlflow_uri, experiment, run_name, tags, track.log_model)
            )
    tracker = RunTracker(trackers, observers)
    tracker.log_params(flatten_params(recipe_dict))
    return tracker
