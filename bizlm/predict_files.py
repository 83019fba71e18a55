"""Predict over a whole file: every input row kept, predictions added as new columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bizlm.data.columns import require_column, select_columns
from bizlm.data.readers import WRITE_FORMATS, read_table, write_table
from bizlm.errors import DataError
from bizlm.log import logger
from bizlm.predictor import Predictor
from bizlm.progress import Reporter, RichReporter

CHUNK = 512  # texts per predict call, so progress moves on large files


def prediction_columns(result: dict[str, Any], delimiter: str = "|") -> dict[str, Any]:
    """Flatten one prediction into table cells.

    ``label``/``score`` become ``predicted_label``/``predicted_score``; a ``probabilities``
    mapping becomes one ``prob_<label>`` column each; a list of labels is joined with
    ``delimiter``; a list of entity spans is written as JSON.
    """
    cells: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, dict):
            cells.update({f"prob_{k}": round(float(v), 6) for k, v in value.items()})
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            cells[f"predicted_{key}"] = delimiter.join(value)
        elif isinstance(value, list):
            cells[f"predicted_{key}"] = json.dumps(value, ensure_ascii=False)
        else:
            cells[f"predicted_{key}"] = round(value, 6) if isinstance(value, float) else value
    return cells


def predict_file(
    predictor: Predictor,
    path: Path,
    text_column: str | None,
    output: Path | None,
    encoding: str = "utf-8",
    batch_size: int = 64,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Predict the text column of ``path``; write all rows plus predictions to ``output``.

    Without ``output`` the rows go to :func:`default_output` beside the input. Rows with
    empty text are written with empty prediction fields and counted, never dropped. A model
    trained on text pairs reads the pair column its recipe names.
    """
    task = predictor.info.task_settings
    column = text_column or task.get("text_column", "text")
    table = read_table(path, encoding=encoding)
    rows = select_columns(table, column, None)
    note = rows.skipped_summary(str(path))
    if note:
        logger.warning(note + " They are kept in the output with empty predictions.")
    pair_column = task.get("text_pair_column")
    pairs = None
    if pair_column:
        require_column(table, pair_column, "text_pair")
        pairs = [str(row.get(pair_column) or "") for row in rows.rows]
    reporter = RichReporter() if show_progress else Reporter()
    reporter.start("predict", len(rows.texts))
    results: list[dict[str, Any]] = []
    try:
        for start in range(0, len(rows.texts), CHUNK):
            chunk = rows.texts[start : start + CHUNK]
            chunk_pairs = pairs[start : start + CHUNK] if pairs is not None else None
            results += predictor.predict(chunk, batch_size, pairs=chunk_pairs)
            reporter.advance(len(chunk))
    finally:
        reporter.stop()
    delimiter = task.get("label_delimiter", "|")
    predicted = {
        line: prediction_columns(result, delimiter)
        for line, result in zip(rows.line_numbers, results, strict=True)
    }
    new_columns = list(next(iter(predicted.values()), {}))
    records = []
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        cells = predicted.get(line, dict.fromkeys(new_columns, ""))
        records.append({**row, **cells})
    output = Path(output) if output is not None else default_output(Path(path))
    columns = table.columns + [c for c in new_columns if c not in table.columns]
    try:
        write_table(output, records, columns)
    except OSError as exc:
        raise DataError(
            f"Cannot write the predictions to '{output}': {exc.strerror or exc}.",
            hint="Pass --output FILE in a folder you can write to.",
        ) from None
    return {
        "input": str(path),
        "rows": len(table.rows),
        "predicted": len(rows.texts),
        "empty_text": len(table.rows) - len(rows.texts),
        "output": str(output),
    }


def default_output(path: Path) -> Path:
    """Where predictions for ``path`` go without ``--output``: beside it, never over a file.

    ``tickets.csv`` gives ``tickets.predictions.csv``, or ``tickets.predictions-2.csv`` (3, …)
    when that exists. JSON input is written as JSONL, Parquet input as CSV.
    """
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        suffix = ".jsonl" if suffix == ".json" else ".csv"
    candidate = path.with_name(f"{path.stem}.predictions{suffix}")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.predictions-{number}{suffix}")
        number += 1
    return candidate
