"""Read a table-shaped file (CSV, TSV, JSONL, Parquet) into examples for classify and score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.data.columns import LabelledRows, require_column, select_columns
from bizlm.data.readers import read_table
from bizlm.errors import DataError
from bizlm.log import logger
from bizlm.paths import file_sha256
from bizlm.recipe import TaskConfig
from bizlm.tasks.base import Examples


def record_file(
    path: Path, summary: dict[str, Any], rows: int, kept: int, skipped: dict[str, list[int]]
) -> None:
    """Note a source file's checksum and how many of its rows were used, in ``summary``."""
    summary.setdefault("files", {})[str(path)] = {
        "sha256": file_sha256(path),
        "rows": rows,
        "kept": kept,
        "skipped": {reason: len(lines) for reason, lines in skipped.items()},
    }


def warn(summary: dict[str, Any], note: str) -> None:
    """Log a warning and keep it in the bundle's data summary."""
    logger.warning(note)
    summary.setdefault("warnings", []).append(note)


def read_rows(
    path: Path, encoding: str, config: TaskConfig, summary: dict[str, Any]
) -> tuple[LabelledRows, Examples]:
    """Rows with a text and a label, plus the pair and group columns the task names.

    Rows with an empty text or label are skipped and counted; an empty ``text_pair`` or group
    is an error naming the line, since the row cannot be scored without it.
    """
    table = read_table(path, encoding=encoding)
    rows = select_columns(table, config.text_column, config.label_column)
    note = rows.skipped_summary(str(path))
    if note:
        warn(summary, note)
    record_file(path, summary, len(table.rows), len(rows.texts), rows.skipped)
    extras: dict[str, list[Any]] = {}
    for role, column in (("text_pair", config.text_pair_column), ("group", config.group_column)):
        if column is None:
            continue
        require_column(table, column, role)
        extras[role] = [_required_cell(row, column, line, path) for row, line in _cells(rows)]
    examples = Examples(
        texts=rows.texts,
        targets=list(rows.labels),
        line_numbers=rows.line_numbers,
        extras=extras,
        skipped=rows.skipped,
    )
    return rows, examples


def _cells(rows: LabelledRows):
    return zip(rows.rows, rows.line_numbers, strict=True)


def _required_cell(row: dict[str, Any], column: str, line: int, path: Path) -> str:
    value = row.get(column)
    text = "" if value is None or value != value else str(value)  # value != value: NaN
    if not text.strip():
        raise DataError(
            f"{path} line {line}: column '{column}' is empty; this task needs it on every row.",
            hint="Fill it in, remove the row, or unset the column in the recipe's task section.",
        )
    return text
