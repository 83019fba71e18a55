"""Every trained model is scored beside two simple predictors on the same splits:

- a TF-IDF + linear baseline trained on the same training split (``evaluation.baseline``);
- the majority-class predictor (the training mean for score), which a model that learned
  nothing matches.

The verdict says in plain words whether the model beat them, and whether the run passes the
``evaluation.min_margin`` gate.
"""

from __future__ import annotations

from typing import Any

from bizlm.errors import RecipeError
from bizlm.evaluation.baseline import fit_baseline_model, majority_scores
from bizlm.evaluation.verdict import verdict
from bizlm.ngram_model import NgramModel
from bizlm.recipe import Recipe
from bizlm.tasks import Task
from bizlm.training.prepare import PreparedData


def majority_for(recipe: Recipe, data: PreparedData) -> dict[str, Any] | None:
    """The majority-class predictor's scores on validation and test (None for tag, and for
    generate, which has no class and no TF-IDF baseline either: its answers are text)."""
    if recipe.task.type == "generate":
        if recipe.evaluation.min_margin is not None:
            raise RecipeError(
                "evaluation.min_margin is a margin over the baseline, and task type generate "
                "has none.",
                hint="Remove evaluation.min_margin from the recipe.",
            )
        return None
    return majority_scores(recipe.task.type, recipe.task.multi_label, data.splits, data.labels)


def fit_reference_baseline(
    recipe: Recipe, data: PreparedData, majority: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, NgramModel | None]:
    """The baseline's scores and its fitted n-gram model, when ``evaluation.baseline`` is on
    and the task has a majority predictor to compare with (else ``(None, None)``)."""
    if majority is None or not recipe.evaluation.baseline:
        return None, None
    fitted = fit_baseline_model(recipe.task.type, recipe.task.multi_label, data.splits, data.labels)
    return fitted if fitted is not None else (None, None)


def compare_with_baselines(
    recipe: Recipe,
    task: Task,
    metrics: dict[str, Any],
    majority: dict[str, Any] | None,
    baseline: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(scores to add to the bundle's metrics, the verdict); nothing for tag, generate or
    zero-shot runs.

    ``metrics`` holds the model's scores per split; ``baseline`` is the record of
    :func:`fit_reference_baseline`. The added scores are ``baseline`` (when there is one) and
    ``majority``.
    """
    if majority is None or not metrics:
        return {}, None
    added: dict[str, Any] = {"majority": majority}
    if baseline is not None:
        added["baseline"] = baseline
    judged = verdict(task.primary_metric, metrics, baseline, majority, recipe.evaluation.min_margin)
    return added, judged
