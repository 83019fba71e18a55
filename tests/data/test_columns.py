"""Tests for bizlm.data.columns: label conversion, skipped rows and missing-column messages."""

from __future__ import annotations

import pytest

from bizlm.data.columns import select_columns
from bizlm.data.readers import Table
from bizlm.errors import DataError


def _table(rows: list[dict]) -> Table:
    return Table(
        rows=rows,
        columns=list(dict.fromkeys(key for row in rows for key in row)),
        source="train.csv",
        line_numbers=[index + 2 for index in range(len(rows))],
    )


def test_labels_become_strings_and_rows_are_kept_in_order() -> None:
    rows = [
        {"text": "a", "label": 1},
        {"text": "b", "label": 2.0},
        {"text": 3, "label": " pos "},
    ]
    kept = select_columns(_table(rows), "text", "label")
    assert kept.texts == ["a", "b", "3"]
    assert kept.labels == ["1", "2", "pos"]
    assert kept.rows == rows
    assert kept.line_numbers == [2, 3, 4]
    assert kept.skipped == {}
    assert kept.skipped_summary("train.csv") is None


def test_skipped_rows_are_listed_with_reasons() -> None:
    rows = [
        {"text": "ok", "label": "a"},
        {"text": "  ", "label": "a"},
        {"text": None, "label": None},
        {"text": "fine", "label": ""},
        {"text": "fine", "label": float("nan")},
        {"text": "ok2", "label": "b"},
    ]
    kept = select_columns(_table(rows), "text", "label")
    assert kept.texts == ["ok", "ok2"]
    assert kept.line_numbers == [2, 7]
    assert kept.skipped == {"empty text": [3, 4], "missing label": [5, 6]}
    assert kept.skipped_summary("train.csv") == (
        "Skipped 4 of 6 rows in train.csv: 2 with empty text (lines 3, 4),"
        " 2 with missing label (lines 5, 6)."
    )


def test_summary_lists_at_most_ten_lines() -> None:
    rows = [{"text": "", "label": "a"}] * 12 + [{"text": "x", "label": "a"}]
    summary = select_columns(_table(rows), "text", "label").skipped_summary("t.csv")
    assert summary == (
        "Skipped 12 of 13 rows in t.csv: 12 with empty text (lines 2, 3, 4, 5, 6, 7, 8, 9, 10,"
        " 11, …)."
    )


def test_single_skipped_line_is_singular() -> None:
    rows = [{"text": "x", "label": "a"}, {"text": "y", "label": None}]
    summary = select_columns(_table(rows), "text", "label").skipped_summary("t.csv")
    assert summary == "Skipped 1 of 2 rows in t.csv: 1 with missing label (line 3)."


def test_unlabelled_rows_for_predict() -> None:
    rows = [{"text": "a"}, {"text": ""}]
    kept = select_columns(_table(rows), "text", None)
    assert kept.labels == [None]
    assert kept.skipped == {"empty text": [3]}


def test_missing_column_lists_columns_and_suggests() -> None:
    table = _table([{"id": 1, "text": "a", "label": "x"}])
    with pytest.raises(DataError) as info:
        select_columns(table, "txt", "label")
    message = str(info.value)
    assert "train.csv has no column 'txt'; its columns are: id, text, label." in message
    assert "Did you mean 'text'?" in message
    assert "task.text_column" in message and "--text-column" in message


def test_missing_label_column_without_close_match() -> None:
    table = _table([{"id": 1, "text": "a", "label": "x"}])
    with pytest.raises(DataError) as info:
        select_columns(table, "text", "sentiment")
    assert "Did you mean" not in str(info.value)
    assert "--label-column" in str(info.value)


def test_no_usable_rows_is_an_error() -> None:
    with pytest.raises(DataError, match=r"train\.csv has no usable rows: 2 with empty text"):
        select_columns(_table([{"text": "", "label": "a"}] * 2), "text", "label")
    unlabelled = select_columns(_table([{"text": " "}]), "text", None)
    assert unlabelled.texts == [] and unlabelled.skipped == {"empty text": [2]}
