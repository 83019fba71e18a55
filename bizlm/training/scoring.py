"""A trained predictor's post-training settings and its scores on validation and test."""

from __future__ import annotations

from typing import Any

from bizlm.predictor import Predictor
from bizlm.tasks import Task
from bizlm.training.prepare import PreparedData


def score_splits(task: Task, predictor: Predictor, data: PreparedData) -> dict[str, Any]:
    """The task's metrics on validation and test, for those of them the data has."""
    return {
        name: task.score(predictor, data.splits[name])
        for name in ("validation", "test")
        if name in data.splits and len(data.splits[name])
    }


def calibrate_and_score(
    task: Task, predictor: Predictor, data: PreparedData
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(calibration, scores): the task's post-training settings fitted on validation (none
    without it) and kept in the predictor's info, then the metrics on validation and test."""
    validation = data.splits.get("validation")
    train = data.splits.get("train")  # zero-shot methods read no training data
    calibration = task.calibrate(predictor, validation, train) if validation else {}
    predictor.info.calibration = calibration
    return calibration, score_splits(task, predictor, data)
