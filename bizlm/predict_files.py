"""Predict over a whole file: every input row kept, predictions added as new columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.data.columns import select_columns
from bizlm.data.readers import read_table, write_table
from bizlm.log import logger
from bizlm.predictor import Predictor
from bizlm.training.progress import Reporter, RichReporter


def predict_file(
    predictor: Predictor,
    path: Path,
    text_column: str | None,
    output: Path | None,
    encoding: str = "utf-8",
    batch_size: int = 64,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Classify the text column of ``path``; write all rows plus predictions to ``output``.

    Rows with empty text are written with empty prediction fields and counted, never dropped.
    """
    task = predictor.info.get("recipe", {}).get("task", {})
    column = text_column or task.get("text_column", "text")
    table = read_table(path, encoding=encoding)
    rows = select_columns(table, column, None)
    note = rows.skipped_summary(str(path))
    if note:
        logger.warning(note + " They are kept in the output with empty predictions.")
    reporter = RichReporter() if show_progress else Reporter()
    reporter.start("predict", len(rows.texts))
    try:
        probabilities = predictor.predict_proba(rows.texts, batch_size, on_batch=reporter.advance)
    finally:
        reporter.stop()
    predicted = dict(zip(rows.line_numbers, probabilities, strict=True))
    new_columns = ["predicted_label", "predicted_score"] + [f"prob_{x}" for x in predictor.labels]
    records = []
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        record = dict(row)
        probs = predicted.get(line)
        best = int(probs.argmax()) if probs is not None else None
        record["predicted_label"] = predictor.labels[best] if best is not None else ""
        record["predicted_score"] = round(float(probs[best]), 6) if best is not None else ""
        for label, p in zip(
            predictor.labels,
            probs if probs is not None else [""] * len(predictor.labels),
            strict=True,
        ):
            record[f"prob_{label}"] = round(float(p), 6) if p != "" else ""
        records.append(record)
    if output is not None:
        write_table(
            output, records, table.columns + [c for c in new_columns if c not in table.columns]
        )
    return {
        "input": str(path),
        "rows": len(table.rows),
        "predicted": len(rows.texts),
        "empty_text": len(table.rows) - len(rows.texts),
        "output": str(output) if output else None,
    }
