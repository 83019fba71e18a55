"""``bizlm tune``: search the learning rate, epochs, warmup and LoRA rank with Optuna.

Each trial is one :func:`bizlm.train` of the recipe with drawn values (see
:mod:`bizlm.sections.tune`), scored by the best validation value of the recipe's
early-stopping metric. Every evaluation is reported to Optuna, whose pruner (median by default)
stops a trial that falls behind. The study lives in SQLite, so running the same command again
continues it up to ``trials`` trials in all. Only the best trial's bundle is kept
(``<output>.trials/trial-<N>``); the best recipe is written to ``<output>.best.yaml``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bizlm.atomic import atomic_write_text
from bizlm.errors import RecipeError
from bizlm.progress import Reporter
from bizlm.recipe import Recipe, load_recipe
from bizlm.sections.tune import TuneSpace
from bizlm.tasks import build_task
from bizlm.training.loop import chosen_metric
from bizlm.training.run import train

if TYPE_CHECKING:
    import optuna

TRIAL_FOLDER = re.compile(r"trial-\d+(\.checkpoints)?")


@dataclass
class TuneResult:
    """A finished (or timed-out) search: every trial, and the best one."""

    study: str
    storage: Path
    metric: str
    direction: str
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None
    best_recipe: Path | None


def tune(
    recipe: Recipe | str | Path | dict[str, Any],
    trials: int,
    timeout: float | None = None,
    study_db: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    reporter: Reporter | None = None,
    pruner: Any = None,
) -> TuneResult:
    """Run the study of ``recipe`` until it holds ``trials`` trials (or ``timeout`` s passed).

    ``study_db`` defaults to ``<output>.tune.db``; ``pruner`` to Optuna's ``MedianPruner``.
    """
    import optuna

    base = recipe if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    if trials < 1:
        raise RecipeError(f"trials must be at least 1, got {trials}.", hint="Use --trials 10.")
    if timeout is not None and timeout <= 0:
        raise RecipeError(f"timeout must be positive, got {timeout:g}.", hint="Use --timeout 3600.")
    output = Path(base.output or "runs/model")
    metric = chosen_metric(base.train, build_task(base.task).primary_metric)
    direction = "minimize" if metric == "loss" else "maximize"
    storage = Path(study_db or output.with_name(f"{output.name}.tune.db")).resolve()
    storage.parent.mkdir(parents=True, exist_ok=True)
    reporter = reporter or Reporter()
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=output.name,
            storage=f"sqlite:///{storage}",
            load_if_exists=True,
            direction=direction,
            pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=3),
        )
        _check_direction(study, direction, metric, storage)
        _fail_stale_trials(study)
        study.sampler = optuna.samplers.TPESampler(seed=base.train.seed + len(study.trials))
        search = _Search(base, output, metric, reporter)
        remaining = trials - len(study.trials)
        if remaining > 0:
            study.optimize(
                search.objective, n_trials=remaining, timeout=timeout, callbacks=[search.after]
            )
    finally:
        optuna.logging.set_verbosity(verbosity)
    best = _best_trial(study)
    best_recipe = _write_best_recipe(base, output, study, best, metric) if best else None
    return TuneResult(
        study=study.study_name,
        storage=storage,
        metric=metric,
        direction=direction,
        trials=[_row(t) for t in study.trials],
        best=_row(best) if best else None,
        best_recipe=best_recipe,
    )


class _Search:
    """The objective and the after-trial callback of one study."""

    def __init__(self, base: Recipe, output: Path, metric: str, reporter: Reporter) -> None:
        self.base, self.metric, self.reporter = base, metric, reporter
        self.ranges = search_ranges(base)
        self.folder = output.with_name(f"{output.name}.trials")
        self.track = {"experiment": base.track.experiment or output.name}
        if base.track.tensorboard and base.track.tensorboard_dir is None:
            self.track["tensorboard_dir"] = str(output.with_name(f"{output.name}.tb"))

    def objective(self, trial: Any) -> float:
        """Train once with drawn values; the best validation value of the metric."""
        drawn = suggest(trial, self.ranges)
        shown = ", ".join(f"{key} {value:.3g}" for key, value in drawn.items())
        self.reporter.note(f"trial {trial.number}: {shown}")
        raw = _with_values(self.base.resolved(), drawn)
        raw["output"] = str(self.folder / f"trial-{trial.number}")
        raw["track"].update(self.track, run_name=f"trial-{trial.number}")
        result = train(raw, reporter=self.reporter, observers=[_pruning(trial, self.metric)])
        if result.interrupted:
            raise KeyboardInterrupt
        best = result.info["training"]["best"] or {}
        value = best.get(f"val_{self.metric}")
        if value is None:
            raise RecipeError(
                f"Trial {trial.number} gave no validation {self.metric}.",
                hint="Check that the validation split is not empty.",
            )
        trial.set_user_attr("bundle", str(result.bundle))
        return float(value)

    def after(self, study: Any, trial: Any) -> None:
        """Say how the trial ended; keep only the best trial's bundle."""
        value = "" if trial.value is None else f" {self.metric} {trial.value:.4f}"
        self.reporter.note(f"trial {trial.number}: {trial.state.name.lower()}{value}")
        best = _best_trial(study)
        keep = f"trial-{best.number}" if best else None
        if self.folder.is_dir():
            for child in self.folder.iterdir():
                if TRIAL_FOLDER.fullmatch(child.name) and child.name != keep:
                    shutil.rmtree(child, ignore_errors=True)


def _pruning(trial: Any, metric: str):
    """An observer that reports each evaluation to Optuna and stops a trial it prunes."""
    import optuna

    key = f"val_{metric}"

    def observe(record: dict[str, Any]) -> None:
        value = record.get(key)
        if value is None:
            return
        trial.report(float(value), int(record["step"]))
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {record['step']} ({key} {value:.4f})")

    return observe


def _with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with each dotted key of ``values`` set."""
    for dotted, value in values.items():
        section, _, key = dotted.rpartition(".")
        node = raw
        for part in section.split("."):
            node = node[part]
        node[key] = value
    return raw


def _check_direction(study: Any, direction: str, metric: str, storage: Path) -> None:
    found = study.direction.name.lower()
    if found != direction:
        raise RecipeError(
            f"Study '{study.study_name}' in {storage} was made to {found} its metric, but the "
            f"recipe's metric '{metric}' must be {direction}d.",
            hint="Give another --study-db, or set train.early_stopping_metric as before.",
        )


def _fail_stale_trials(study: Any) -> None:
    """Trials left running by a run that died are marked failed, so they do not count twice."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)


def _best_trial(study: Any) -> Any:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    return study.best_trial


def _row(trial: Any) -> dict[str, Any]:
    seconds = trial.duration.total_seconds() if trial.duration else None
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "value": trial.value,
        "params": dict(trial.params),
        "seconds": round(seconds, 1) if seconds is not None else None,
        "bundle": trial.user_attrs.get("bundle"),
    }


def _write_best_recipe(base: Recipe, output: Path, study: Any, best: Any, metric: str) -> Path:
    """The recipe with the best trial's values, as ``<output>.best.yaml`` (validated first)."""
    raw = _with_values(base.resolved(), best.params)
    load_recipe(raw)
    path = output.with_name(f"{output.name}.best.yaml")
    header = (
        f"# best of {len(study.trials)} trials of study '{study.study_name}': "
        f"validation {metric} {best.value:.4f} (trial {best.number})\n"
    )
    atomic_write_text(path, header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path


def search_ranges(recipe: Recipe) -> dict[str, Any]:
    """The effective space for ``recipe``: recipe key → (low, high) range or list of choices."""
    space = recipe.tune or TuneSpace()
    rate, epochs = recipe.train.learning_rate, recipe.train.epochs
    ranges: dict[str, Any] = {
        "train.learning_rate": space.learning_rate or (rate / 10, min(rate * 10, 0.5)),
        "train.epochs": space.epochs or (max(1, epochs // 2), max(2, epochs * 2)),
        "train.warmup_ratio": space.warmup_ratio,
    }
    if "r" in type(recipe.method).model_fields:
        ranges["method.r"] = list(space.r)
    return ranges


def suggest(trial: optuna.Trial, ranges: dict[str, Any]) -> dict[str, Any]:
    """Draw one value a key from ``ranges`` (see :func:`search_ranges`); return key → value."""
    drawn: dict[str, Any] = {}
    for key, bounds in ranges.items():
        if isinstance(bounds, list):
            drawn[key] = trial.suggest_categorical(key, bounds)
        elif key == "train.learning_rate":
            drawn[key] = trial.suggest_float(key, *bounds, log=True)
        elif key == "train.epochs":
            drawn[key] = trial.suggest_int(key, *bounds)
        else:
            drawn[key] = trial.suggest_float(key, *bounds)
    return drawn
