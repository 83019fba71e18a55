"""``bizlm.evaluate(bundle, data)``: score a trained bundle on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.data.columns import select_columns
from bizlm.data.readers import read_table
from bizlm.data.splits import unseen_labels
from bizlm.errors import DataError
from bizlm.evaluation.metrics import classification_metrics
from bizlm.log import logger
from bizlm.predictor import Predictor, load


def evaluate(
    bundle: str | Path | Predictor,
    data: str | Path,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding: str = "utf-8",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores, confusion matrix and ECE of a bundle on ``data``.

    Columns default to those of the bundle's recipe. A label the model was never trained on is
    an error (it could never be predicted), not a silent miss.
    """
    predictor = load(bundle) if isinstance(bundle, str | Path) else bundle  # any runtime
    task = predictor.info.get("recipe", {}).get("task", {})
    text_column = text_column or task.get("text_column", "text")
    label_column = label_column or task.get("label_column", "label")
    rows = select_columns(read_table(data, encoding=encoding), text_column, label_column)
    note = rows.skipped_summary(str(data))
    if note:
        logger.warning(note)
    gold_labels = [str(label) for label in rows.labels]
    unknown = unseen_labels(predictor.labels, gold_labels)
    if unknown:
        line = rows.line_numbers[gold_labels.index(unknown[0])]
        raise DataError(
            f"Label '{unknown[0]}' in {data} (line {line}) is not one the model was trained on "
            f"({', '.join(predictor.labels)}).",
            hint="Evaluate on data with the model's labels, or retrain with this label.",
        )
    probabilities = predictor.predict_proba(rows.texts, batch_size)
    gold = [predictor.labels.index(label) for label in gold_labels]
    metrics = classification_metrics(gold, probabilities, predictor.labels)
    metrics["skipped"] = {reason: len(lines) for reason, lines in rows.skipped.items()}
    return metrics
