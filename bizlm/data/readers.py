"""Read and write tabular data files (CSV, TSV, JSONL, JSON, Parquet) with exact line numbers."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.atomic import atomic_write_text
from bizlm.encodings import effective_encoding, encoding_hint
from bizlm.errors import DataError

READ_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
WRITE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_DELIMITERS = {"csv": ",", "tsv": "\t"}
_FIELD_LIMIT = 1 << 30


@dataclass
class Table:
    """Records read from one file, with the physical line where each record starts."""

    rows: list[dict[str, Any]]
    columns: list[str]
    source: str
    line_numbers: list[int]


def read_table(
    path: str | Path, *, encoding: str = "utf-8", file_format: str | None = None
) -> Table:
    """Read a CSV, TSV, JSONL, JSON (a list of objects) or Parquet file into a :class:`Table`.

    The format comes from ``file_format`` or the file suffix. Raises :class:`DataError` naming
    the file and line for anything that cannot be read.
    """
    source = str(path)
    path = Path(path)
    fmt = _resolve_format(path, source, file_format, READ_FORMATS)
    _check_file(path, source)
    if fmt == "parquet":
        table = _read_parquet(path, source)
    else:
        text = decode_text(path.read_bytes(), source, encoding)
        if fmt == "jsonl":
            table = _read_jsonl(text, source)
        elif fmt == "json":
            table = _read_json(text, source)
        else:
            table = _read_delimited(text, source, fmt)
    if not table.rows:
        raise DataError(
            f"'{source}' has no rows.",
            hint="Add at least one record to the file, or point to the right file.",
        )
    return table


def write_table(
    path: str | Path, rows: list[dict[str, Any]], columns: list[str] | None = None
) -> None:
    """Write ``rows`` as CSV, TSV or JSONL (chosen by suffix), UTF-8, atomically.

    ``columns`` picks and orders the output columns; by default every key, first seen first.
    """
    path = Path(path)
    fmt = _resolve_format(path, str(path), None, WRITE_FORMATS)
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    if fmt == "jsonl":
        lines = (
            json.dumps(
                {c: _json_value(row.get(c)) for c in columns}, ensure_ascii=False, default=str
            )
            for row in rows
        )
        text = "".join(line + "\n" for line in lines)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=_DELIMITERS[fmt], lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
        text = buffer.getvalue()
    atomic_write_text(path, text)


def _resolve_format(
    path: Path, source: str, file_format: str | None, formats: dict[str, str]
) -> str:
    known = sorted(set(formats.values()))
    if file_format is not None:
        fmt = file_format.lower().lstrip(".")
        if fmt not in known:
            raise DataError(
                f"Unknown file format '{file_format}' for '{source}'.",
                hint=f"Use one of: {', '.join(known)}.",
            )
        return fmt
    fmt = formats.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"Cannot tell the format of '{source}' from its suffix '{path.suffix}'.",
            hint=f"Use a file name ending in one of: {', '.join(formats)}.",
        )
    return fmt


def _check_file(path: Path, source: str) -> None:
    if not path.exists():
        raise DataError(
            f"Data file '{source}' does not exist.",
            hint=f"Check the path; relative paths start from the current folder {Path.cwd()}.",
        )
    if path.is_dir():
        raise DataError(
            f"Data file '{source}' is a folder, not a file.",
            hint="Point to a .csv, .tsv, .jsonl, .json or .parquet file inside it.",
        )
    if path.stat().st_size == 0:
        raise DataError(
            f"'{source}' has no rows.",
            hint="The file is empty (0 bytes); point to the file that holds your data.",
        )


def decode_text(raw: bytes, source: str, encoding: str) -> str:
    """Decode a file's bytes, or raise a DataError naming the line, column and bad bytes.

    A UTF-16 or UTF-32 byte-order mark is followed even when UTF-8 is asked for. The error
    for bytes that do not decode names an encoding that reads the whole file cleanly.
    """
    encoding = effective_encoding(raw, encoding)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        raise DataError(
            f"{source} line {line}, column {column} is not valid {encoding} (byte 0x{bad}).",
            hint=encoding_hint(raw, encoding),
        ) from None
    except LookupError:
        raise DataError(
            f"Unknown encoding '{encoding}' for '{source}'.",
            hint="Use a Python codec name such as utf-8, gb18030, big5, shift_jis or cp1252.",
        ) from None
    return text.removeprefix("\ufeff")


def _read_delimited(text: str, source: str, fmt: str) -> Table:
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=_DELIMITERS[fmt], strict=True)
    header: list[str] | None = None
    rows: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(source, fmt, (start, reader.line_num), str(exc)) from None
        line, start = start, reader.line_num + 1
        if not fields:
            continue
        if header is None:
            header = _check_header(fields, source, line)
            continue
        if len(fields) > len(header):
            raise DataError(
                f"{source} line {line} has {len(fields)} fields but the header has {len(header)}.",
                hint="Quote values that contain the delimiter, or fix the extra fields.",
            )
        fields += [""] * (len(header) - len(fields))
        rows.append(dict(zip(header, fields, strict=True)))
        line_numbers.append(line)
    return Table(rows=rows, columns=header or [], source=source, line_numbers=line_numbers)


def _check_header(fields: list[str], source: str, line: int) -> list[str]:
    seen: set[str] = set()
    for name in fields:
        if name in seen:
            raise DataError(
                f"{source} line {line} (the header) names column '{name}' twice.",
                hint="Rename one of the two columns.",
            )
        seen.add(name)
    return fields


def _csv_error(source: str, fmt: str, lines: tuple[int, int], message: str) -> DataError:
    """Explain a csv.Error; ``lines`` are the first and last physical line of the bad row."""
    if "end of data" in message:
        return DataError(
            f"{source} line {lines[0]} opens a quoted field that is never closed.",
            hint='Close the quote; a literal quote inside a quoted field is written "".',
        )
    return DataError(
        f"{source} line {lines[1]} is not valid {fmt.upper()}: {message}.",
        hint='Fix the quoting on that line (a literal quote inside a quoted field is written "")'
        " or re-save the file with standard line endings.",
    )


def _read_jsonl(text: str, source: str) -> Table:
    rows: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{source} line {number} is not valid JSON: {exc.msg} at column {exc.colno}.",
                hint="Write exactly one JSON object per line.",
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{source} line {number} holds a JSON {type(record).__name__}, not an object.",
                hint='Write one object per line, e.g. {"text": "...", "label": "..."}.',
            )
        rows.append(record)
        line_numbers.append(number)
    return Table(rows=rows, columns=_union_keys(rows), source=source, line_numbers=line_numbers)


def _read_json(text: str, source: str) -> Table:
    pos = _skip_space(text, 0)
    if not text.startswith("[", pos):
        line = text.count("\n", 0, pos) + 1
        raise DataError(
            f"{source} line {line} does not start a JSON list.",
            hint="A .json file must hold a list of objects; use .jsonl for one object per line.",
        )
    try:
        items = _json_list_items(text, pos)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{source} line {exc.lineno}, column {exc.colno} is not valid JSON: {exc.msg}.",
            hint="Fix the JSON syntax there (a list of objects separated by commas).",
        ) from None
    for line, record in items:
        if not isinstance(record, dict):
            raise DataError(
                f"{source} line {line} holds a JSON {type(record).__name__}, not an object.",
                hint='Each list item must be an object, e.g. {"text": "...", "label": "..."}.',
            )
    rows = [record for _, record in items]
    return Table(
        rows=rows,
        columns=_union_keys(rows),
        source=source,
        line_numbers=[line for line, _ in items],
    )


def _json_list_items(text: str, pos: int) -> list[tuple[int, Any]]:
    """Parse the JSON list opening at ``pos``; return (start line, value) for each item."""
    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    pos = _skip_space(text, pos + 1)
    if not text.startswith("]", pos):
        while True:
            value, end = decoder.raw_decode(text, pos)
            items.append((text.count("\n", 0, pos) + 1, value))
            pos = _skip_space(text, end)
            if text.startswith("]", pos):
                break
            if not text.startswith(",", pos):
                raise json.JSONDecodeError("Expecting ',' or ']'", text, pos)
            pos = _skip_space(text, pos + 1)
    if _skip_space(text, pos + 1) != len(text):
        raise json.JSONDecodeError("Extra data after the list", text, pos + 1)
    return items


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _read_parquet(path: Path, source: str) -> Table:
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(
            f"'{source}' is not a readable Parquet file: {str(exc).rstrip('.')}.",
            hint="Check that the file is Parquet, or give it the suffix of its real format.",
        ) from None
    rows = arrow.to_pylist()
    return Table(
        rows=rows,
        columns=list(arrow.schema.names),
        source=source,
        line_numbers=list(range(1, len(rows) + 1)),
    )


def _union_keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value
