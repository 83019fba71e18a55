"""``evaluation.blend``: mix the baseline's n-gram model into the trained model's outputs.

A fine-tuned transformer and a TF-IDF linear model make different mistakes: the transformer
reads meaning, the n-gram model counts every word of a long text and memorises rare cue words.
After training, the outputs ``(1 - w) * model + w * ngram`` are scored on validation for each
weight of :data:`WEIGHTS`, with the task's post-training settings (a two-label threshold,
multi-label thresholds) tuned again for each; the best weight is kept when it beats the model
alone by :data:`MIN_GAIN`. The weight stops at 0.9, so the trained model always has a share.
The bundle then keeps the n-gram model (``ngram/``) and the weight (``blend`` in bizlm.json),
and every predictor that opens it blends the same way; the scores of the model alone are kept
beside the blend's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bizlm.bundle_info import BundleInfo
from bizlm.ngram_model import NGRAM_DIR, Blend, NgramModel
from bizlm.predictor import Predictor
from bizlm.recipe import Recipe
from bizlm.tasks import Task
from bizlm.training.prepare import PreparedData
from bizlm.training.scoring import calibrate_and_score

WEIGHTS = tuple(round(0.1 * step, 1) for step in range(10))  # 0.0 (model alone) .. 0.9
MIN_GAIN = 0.005  # validation primary metric the blend must add to the model alone


def blend_wanted(recipe: Recipe) -> bool:
    """Whether this run blends: ``evaluation.blend``, or (null) whenever the baseline is on."""
    setting = recipe.evaluation.blend
    return recipe.evaluation.baseline if setting is None else setting


class _Fixed:
    """A predictor whose outputs on one split are already known (scoring each weight then
    costs no forward pass); it reads its settings from ``info.calibration`` like a bundle's."""

    def __init__(self, labels: list[str], outputs: np.ndarray) -> None:
        self.labels = labels
        self.info = BundleInfo(labels=labels)
        self._outputs = outputs

    def predict_proba(self, texts: Sequence[str], *_: Any, **__: Any) -> np.ndarray:
        """The known outputs, which are those of ``texts``."""
        if len(texts) != len(self._outputs):
            raise ValueError("a fixed predictor answers for the split it was built on only")
        return self._outputs

    @property
    def thresholds(self) -> list[float]:
        """Multi-label thresholds tuned by the task's ``calibrate`` (0.5 before)."""
        return self.info.calibration.get("thresholds") or [0.5] * len(self.labels)


def _validation_scores(
    task: Task, model: np.ndarray, ngram: np.ndarray, labels: list[str], data: PreparedData
) -> dict[float, float]:
    """The validation primary metric of each blend weight, settings tuned for each."""
    validation, train = data.splits["validation"], data.splits.get("train")
    scores = {}
    for weight in WEIGHTS:
        fixed = _Fixed(labels, (1.0 - weight) * model + weight * ngram)
        fixed.info.calibration = task.calibrate(fixed, validation, train)  # type: ignore[arg-type]
        value = task.score(fixed, validation).get(task.primary_metric)  # type: ignore[arg-type]
        scores[weight] = float(value) if value is not None else 0.0
    return scores


@dataclass
class BlendOutcome:
    """What blending settled: the bundle's ``blend`` record, and the calibration and scores
    of the predictor as it now predicts (blended, or the model alone when no weight won)."""

    record: dict[str, Any]
    calibration: dict[str, Any]
    metrics: dict[str, Any]
    ngram: NgramModel | None


def blend_baseline(
    task: Task,
    predictor: Predictor,
    data: PreparedData,
    ngram: NgramModel,
    calibration: dict[str, Any],
    metrics: dict[str, Any],
) -> BlendOutcome:
    """Choose the blend weight on validation and, when one wins, blend ``predictor`` with
    ``ngram`` and score it again; ``calibration`` and ``metrics`` are the model alone's."""
    validation = data.splits.get("validation")
    if validation is None or not len(validation):
        record = {"weight": 0.0, "reason": "no validation split to choose a weight on"}
        return BlendOutcome(record, calibration, metrics, None)
    pairs = validation.column("text_pair")
    model_outputs = predictor.predict_proba(validation.texts, pairs=pairs)
    ngram_outputs = ngram.outputs(validation.texts, pairs)
    scores = _validation_scores(task, model_outputs, ngram_outputs, predictor.labels, data)
    best = max(WEIGHTS, key=lambda weight: (scores[weight], -weight))
    record: dict[str, Any] = {
        "weight": best if scores[best] >= scores[0.0] + MIN_GAIN else 0.0,
        "metric": task.primary_metric,
        "chosen_on": f"validation {task.primary_metric}",
        "validation": {str(weight): round(score, 6) for weight, score in scores.items()},
        "model_alone": _primary_scores(task, metrics),
    }
    if record["weight"] == 0.0:
        record["reason"] = f"no weight beat the model alone by {MIN_GAIN} on validation"
        return BlendOutcome(record, calibration, metrics, None)
    record["ngram"] = NGRAM_DIR
    predictor.blend = Blend(ngram, record["weight"])
    blended_calibration, blended_metrics = calibrate_and_score(task, predictor, data)
    return BlendOutcome(record, blended_calibration, blended_metrics, ngram)


def _primary_scores(task: Task, metrics: dict[str, Any]) -> dict[str, Any]:
    """The primary metric of each scored split, e.g. ``{"test": {"macro_f1": 0.81}}``."""
    return {
        split: {task.primary_metric: scores.get(task.primary_metric)}
        for split, scores in metrics.items()
        if isinstance(scores, dict)
    }


def blend_sentence(record: dict[str, Any], split: str | None) -> str | None:
    """The verdict's sentence on a kept blend: its weight, and the model alone's score on the
    verdict's split (None when nothing was blended)."""
    if not record.get("weight"):
        return None
    alone = (record["model_alone"].get(split or "") or {}).get(record["metric"])
    sentence = (
        f"Its outputs blend the TF-IDF model's at weight {record['weight']:g} "
        f"(chosen on {record['chosen_on']})"
    )
    if alone is None:
        return sentence + "."
    return f"{sentence}; the fine-tuned model alone scores {alone:.3f} on {split}."
