"""Pick the text and label columns out of a :class:`Table`, accounting for every dropped row."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

from bizlm.data.readers import Table
from bizlm.errors import DataError

EMPTY_TEXT = "empty text"
MISSING_LABEL = "missing label"
_MAX_LISTED_LINES = 10
_MAX_LISTED_COLUMNS = 30


@dataclass
class LabelledRows:
    """Texts and labels kept from a table, plus the line numbers of the rows dropped and why."""

    texts: list[str]
    labels: list[str | None]
    rows: list[dict[str, Any]]
    line_numbers: list[int]
    skipped: dict[str, list[int]] = field(default_factory=dict)

    def skipped_summary(self, source: str) -> str | None:
        """Describe the skipped rows in one sentence, or return None when none were skipped."""
        dropped = sum(len(lines) for lines in self.skipped.values())
        if not dropped:
            return None
        total = dropped + len(self.texts)
        return f"Skipped {dropped} of {total} rows in {source}: {_reasons(self.skipped)}."


def select_columns(table: Table, text_column: str, label_column: str | None) -> LabelledRows:
    """Keep rows with a non-blank text (and a label, when ``label_column`` is given).

    Labels are turned into stripped strings (``1`` and ``1.0`` both become ``"1"``). Rows with
    blank text or a missing label are listed in ``skipped``. A missing column, or labelled data
    left with no usable row, raises :class:`DataError`.
    """
    require_column(table, text_column, "text")
    if label_column is not None:
        require_column(table, label_column, "label")
    kept = LabelledRows(texts=[], labels=[], rows=[], line_numbers=[])
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        text = _as_text(row.get(text_column))
        label = _as_label(row.get(label_column)) if label_column is not None else None
        if text is None:
            kept.skipped.setdefault(EMPTY_TEXT, []).append(line)
        elif label_column is not None and label is None:
            kept.skipped.setdefault(MISSING_LABEL, []).append(line)
        else:
            kept.texts.append(text)
            kept.labels.append(label)
            kept.rows.append(row)
            kept.line_numbers.append(line)
    if not kept.texts and label_column is not None:
        raise DataError(
            f"{table.source} has no usable rows: {_reasons(kept.skipped)}.",
            hint=f"Check that '{text_column}'"
            + (f" and '{label_column}' are" if label_column else " is")
            + " the right column(s) and that they are filled in.",
        )
    return kept


def require_column(table: Table, column: str, role: str) -> None:
    """Raise a DataError listing the table's columns (and the nearest name) if ``column`` is absent.

    ``role`` names the recipe key to fix: ``task.<role>_column``.
    """
    if column in table.columns:
        return
    shown = ", ".join(table.columns[:_MAX_LISTED_COLUMNS])
    if len(table.columns) > _MAX_LISTED_COLUMNS:
        shown += f", … ({len(table.columns) - _MAX_LISTED_COLUMNS} more)"
    message = f"{table.source} has no column '{column}'; its columns are: {shown}."
    close = _closest(column, table.columns)
    if close is not None:
        message += f" Did you mean '{close}'?"
    raise DataError(
        message,
        hint=f"Set task.{role}_column in the recipe or pass --{role}-column.",
    )


def _closest(column: str, columns: list[str]) -> str | None:
    folded = {name.casefold(): name for name in columns}
    if column.casefold() in folded:
        return folded[column.casefold()]
    matches = difflib.get_close_matches(column, columns, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_text(value: Any) -> str | None:
    if _is_missing(value):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _as_label(value: Any) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    label = str(value).strip()
    return label or None


def _reasons(skipped: dict[str, list[int]]) -> str:
    return ", ".join(
        f"{len(lines)} with {reason} ({_describe_lines(lines)})"
        for reason, lines in skipped.items()
        if lines
    )


def _describe_lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:_MAX_LISTED_LINES])
    if len(lines) > _MAX_LISTED_LINES:
        shown += ", …"
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}"
