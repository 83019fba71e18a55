"""The input side of file prediction on Ray: which files, their part names, their rows."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pyarrow as pa

from bizlm.data.readers import READ_FORMATS, read_table
from bizlm.errors import DataError

#: the column added to every part: the row's position in its input file, from 0
ROW_COLUMN = "input_row"
#: what each output part's name ends with
PART_SUFFIX = ".parquet"


def input_files(spec: str) -> list[Path]:
    """The data files ``spec`` names: one file, every data file under a folder, or a glob."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in READ_FORMATS and not p.name.startswith(".")
        )
        if not found:
            raise DataError(
                f"Folder '{spec}' holds no CSV, TSV, JSONL, JSON or Parquet file.",
                hint="Point --input to a folder of data files, a file, or a glob such as "
                "'data/*.csv'.",
            )
        return found
    found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
    if not found:
        raise DataError(
            f"--input '{spec}' matches no file.",
            hint="Check the path; quote a glob ('data/*.csv') so that the shell passes it on.",
        )
    return found


def part_names(files: list[Path]) -> dict[Path, str]:
    """The output part of each file: its path below the files' common folder, '/' as '__'.

    The same input gives the same names, which is what lets a rerun skip written parts.
    """
    resolved = [f.resolve() for f in files]
    root = Path(os.path.commonpath([f.parent for f in resolved]))
    return {
        file: "__".join(path.relative_to(root).parts) + PART_SUFFIX
        for file, path in zip(files, resolved, strict=True)
    }


def read_part(path: Path, encoding: str = "utf-8") -> pa.Table:
    """The rows of ``path`` as an Arrow table, read as ``bizlm predict --input`` reads them,
    with :data:`ROW_COLUMN` added."""
    table = read_table(path, encoding=encoding)
    if ROW_COLUMN in table.columns:
        raise DataError(
            f"'{path}' has a column '{ROW_COLUMN}', the name the predictions give each row's "
            "position.",
            hint=f"Rename the column '{ROW_COLUMN}' in the file.",
        )
    columns = {name: [row.get(name) for row in table.rows] for name in table.columns}
    columns[ROW_COLUMN] = list(range(len(table.rows)))
    try:
        return pa.Table.from_pydict(columns)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            f"'{path}' cannot be stored as Parquet: {exc}.",
            hint="Give every value of a column one type (all text, or all numbers).",
        ) from None
