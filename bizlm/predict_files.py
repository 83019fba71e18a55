"""Predict over a whole file: every input row kept, predictions added as new columns.

A ``generate`` model answers each row's prompt (the recipe's ``task.prompt_column``) or chat
``messages`` and adds the answer as ``generated_text``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from bizlm.data.columns import EMPTY_TEXT, LabelledRows, require_column, select_columns
from bizlm.data.conversations import (
    MESSAGES_COLUMN,
    SYSTEM_COLUMN,
    Conversation,
    parse_messages,
    single_turn,
)
from bizlm.data.readers import WRITE_FORMATS, Table, read_table, write_table
from bizlm.errors import DataError
from bizlm.log import logger
from bizlm.predictor import Predictor
from bizlm.progress import Reporter, RichReporter

CHUNK = 512  # texts per predict call, so progress moves on large files


class Answerer(Protocol):
    """A model of task type generate (``bizlm.tasks.generate_predictor.GeneratePredictor``)."""

    info: Any

    def chat(self, conversations: Sequence[Conversation], batch_size: int) -> list[str]:
        """The assistant's next turn in each conversation."""
        ...


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
    trained on text pairs reads the pair column its recipe names; a generate model reads
    prompts or chat messages (see :func:`generate_file_rows`).
    """
    table = read_table(path, encoding=encoding)
    reporter = RichReporter() if show_progress else Reporter()
    if predictor.info.task == "generate":
        answerer = cast(Answerer, predictor)
        predicted, new_columns = generate_file_rows(
            answerer, table, text_column, batch_size, reporter
        )
    else:
        predicted, new_columns = predict_file_rows(
            predictor, table, text_column, batch_size, reporter
        )
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
        "predicted": len(predicted),
        "empty_text": len(table.rows) - len(predicted),
        "output": str(output),
    }


def predict_file_rows(
    predictor: Predictor,
    table: Table,
    text_column: str | None,
    batch_size: int,
    reporter: Reporter,
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Prediction cells of each row with a text, by line number, and the new column names."""
    task = predictor.info.task_settings
    rows = select_columns(table, text_column or task.get("text_column", "text"), None)
    _warn_skipped(rows.skipped_summary(table.source))
    pair_column = task.get("text_pair_column")
    pairs = None
    if pair_column:
        require_column(table, pair_column, "text_pair")
        pairs = [str(row.get(pair_column) or "") for row in rows.rows]
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
    return predicted, list(next(iter(predicted.values()), {}))


def generate_file_rows(
    predictor: Answerer,
    table: Table,
    prompt_column: str | None,
    batch_size: int,
    reporter: Reporter,
) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """The answer of each row, by line number, as a ``generated_text`` cell (the new column).

    A row's chat ``messages`` (ending on the user) are answered when it has them, else its
    prompt: ``prompt_column``, or the recipe's ``task.prompt_column`` (with the row's
    ``system`` message, if any). Rows with neither are left out and counted.
    """
    column = prompt_column or predictor.info.task_settings.get("prompt_column", "prompt")
    if column not in table.columns and MESSAGES_COLUMN not in table.columns:
        raise DataError(
            f"{table.source} has no prompt column '{column}' and no '{MESSAGES_COLUMN}' "
            f"column; its columns are: {', '.join(table.columns)}.",
            hint="Pass --text-column COLUMN to name the column of prompts, or give chat "
            f"conversations in a '{MESSAGES_COLUMN}' column.",
        )
    lines: list[int] = []
    conversations: list[Conversation] = []
    empty: list[int] = []
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        conversation = _row_conversation(row, column, f"{table.source} line {line}")
        if conversation is None:
            empty.append(line)
        else:
            lines.append(line)
            conversations.append(conversation)
    prompts = [conversation[-1]["content"] for conversation in conversations]
    kept = LabelledRows(prompts, [], [], lines, {EMPTY_TEXT: empty} if empty else {})
    _warn_skipped(kept.skipped_summary(table.source))
    reporter.start("generate", len(conversations))
    answers: list[str] = []
    try:
        for start in range(0, len(conversations), CHUNK):
            chunk = conversations[start : start + CHUNK]
            answers += predictor.chat(chunk, batch_size)
            reporter.advance(len(chunk))
    finally:
        reporter.stop()
    cells = {line: {"generated_text": a} for line, a in zip(lines, answers, strict=True)}
    return cells, ["generated_text"]


def _row_conversation(row: dict[str, Any], column: str, where: str) -> Conversation | None:
    """The conversation to answer for one row, or None when it has no prompt."""
    messages = row.get(MESSAGES_COLUMN)
    if messages is not None:
        return parse_messages(messages, where, answered=False)
    prompt, system = _text(row.get(column)), _text(row.get(SYSTEM_COLUMN))
    return single_turn(prompt, None, system) if prompt is not None else None


def _text(value: Any) -> str | None:
    """A cell as text, or None when it is missing, NaN or blank."""
    if value is None or value != value:  # value != value: NaN
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _warn_skipped(note: str | None) -> None:
    if note:
        logger.warning(note + " They are kept in the output with empty predictions.")


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
