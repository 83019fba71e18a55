"""``bizlm.evaluate(bundle, data)``: score a trained bundle on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.predictor import Predictor, load
from bizlm.recipe import TaskConfig
from bizlm.tasks import build_task


def evaluate(
    bundle: str | Path | Predictor,
    data: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding: str = "utf-8",
) -> dict[str, Any]:
    """The task's metrics of a bundle on ``data`` (classify: accuracy, F1s, confusion, ECE).

    Columns default to those of the bundle's recipe. A label the model was never trained on is
    an error (it could never be predicted), not a silent miss.
    """
    predictor = load(bundle) if isinstance(bundle, str | Path) else bundle  # any runtime
    settings = predictor.info.task_settings
    if text_column:
        settings["text_column"] = text_column
    if label_column:
        settings["label_column"] = label_column
    task = build_task(TaskConfig.model_validate(settings))
    summary: dict[str, Any] = {}
    examples = task.read(Path(data), encoding, summary)
    task.check_labels(examples, predictor.labels, str(data), "the model's labels")
    metrics = task.score(predictor, examples)
    metrics["skipped"] = {reason: len(lines) for reason, lines in examples.skipped.items()}
    return metrics
