"""``regularise.ensemble: N``: train N members with consecutive seeds; the bundle averages them.

Member 0 is the bundle's own ``model/`` (so plain ``transformers`` still loads one good model);
the others go to ``members/member-<k>/``. The bundle's scores, and multi-label thresholds, are the
ensemble's, measured on the same splits as a single run's; each member's own scores are kept.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bizlm.bundle import write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.ensemble_model import EnsembleModel, averaging_for
from bizlm.errors import RecipeError
from bizlm.evaluation.verdict import verdict
from bizlm.predictor import load
from bizlm.progress import Reporter
from bizlm.recipe import Recipe
from bizlm.tasks import Task, build_task
from bizlm.training import distributed
from bizlm.training.documents import headline_metrics, write_documents
from bizlm.training.prepare import prepare_data
from bizlm.training.scoring import calibrate_and_score
from bizlm.training.tracking import Observer

MEMBERS_DIR = "members"
_MEMBER_PARTS = ("model", "adapter")
# what the bundle records of its own, not copied from the first member's bizlm.json
_OWN_KEYS = {"format", "versions", "calibration", "verdict", "blend"}


def check_ensemble(recipe: Recipe, resume: object) -> None:
    """An ensemble trains its members one after another in this process, from scratch."""
    if resume:
        raise RecipeError(
            "An ensemble (regularise.ensemble > 1) cannot be resumed.",
            hint="Train it again, or resume single runs (regularise.ensemble: 1).",
        )
    if distributed.process_state().num_processes > 1:
        raise RecipeError(
            "An ensemble (regularise.ensemble > 1) trains in one process.",
            hint="Drop --processes, or train single runs in several processes.",
        )


def train_ensemble(
    recipe: Recipe,
    train_member: Callable[..., Any],
    reporter: Reporter,
    observers: Sequence[Observer],
) -> BundleInfo:
    """Train the members, score their average, write the bundle; return its ``bizlm.json``."""
    count, seed = recipe.regularise.ensemble, recipe.train.seed
    output = Path(recipe.output or "runs/model")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.members-", dir=output.parent) as tmp:
        results = []
        for index in range(count):
            member = recipe.model_copy(deep=True)
            member.regularise.ensemble = 1
            member.evaluation.blend = False  # the ensemble averages the members' own outputs
            member.train.seed = seed + index
            member.output = Path(tmp) / f"member-{index}"
            reporter.note(f"ensemble member {index + 1} of {count} (train.seed {seed + index})")
            results.append(train_member(member, reporter=reporter, observers=observers))
        task = build_task(recipe.task)
        data = prepare_data(recipe, task)
        members = [load(result.bundle) for result in results]
        first = members[0]
        model = EnsembleModel([m.model for m in members], averaging_for(recipe.task.model_dump()))
        settings = BundleInfo(labels=data.labels, recipe=recipe.resolved())
        predictor = task.predictor_class()(
            model, first.tokenizer, data.labels, first.max_length, settings
        )
        calibration, metrics = calibrate_and_score(task, predictor, data)
        leader = first.info
        info = BundleInfo.model_validate(leader.model_dump(exclude_unset=True, exclude=_OWN_KEYS))
        # the members settled class_weights: auto on the same training split
        recipe.regularise.class_weights = leader.recipe["regularise"]["class_weights"]
        info.recipe = recipe.resolved()
        info.metrics = headline_metrics(metrics)
        _judge_against_member_baselines(info, leader, task, metrics, recipe)
        if calibration:
            info.calibration = calibration
        info.ensemble = {
            "members": count,
            "seeds": [seed + index for index in range(count)],
            "member_dirs": [f"{MEMBERS_DIR}/member-{index}" for index in range(1, count)],
            "member_metrics": [headline_metrics_of(member.info) for member in members],
            "train_seconds": round(sum(m.info.training["train_seconds"] for m in members), 2),
        }

        def write_contents(staging: Path) -> None:
            for index, result in enumerate(results):
                target = staging if index == 0 else staging / MEMBERS_DIR / f"member-{index}"
                for part in _MEMBER_PARTS:
                    if (result.bundle / part).is_dir():
                        shutil.copytree(result.bundle / part, target / part)
            write_documents(staging, info, data, output.name)

        write_bundle(output, info, write_contents)
    return info


def _judge_against_member_baselines(
    info: BundleInfo,
    member: BundleInfo,
    task: Task,
    metrics: dict[str, Any],
    recipe: Recipe,
) -> None:
    """Put the baseline and majority scores of the first member's run (same data, same
    splits) beside the ensemble's, and judge the ensemble's own scores against them."""
    compared = {k: member.metrics[k] for k in ("baseline", "majority") if k in member.metrics}
    info.metrics.update(compared)
    if "majority" in compared:
        info.verdict = verdict(
            task.primary_metric,
            metrics,
            compared.get("baseline"),
            compared["majority"],
            recipe.evaluation.min_margin,
        )


def headline_metrics_of(info: BundleInfo) -> dict[str, Any]:
    """A member's scalar headline scores (per-class tables left out)."""
    return {k: v for k, v in info.metrics.items() if isinstance(v, int | float | str)}
