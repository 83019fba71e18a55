"""Turn the predicted rows of each input file, as they arrive from Ray, into its Parquet part."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bizlm.atomic import atomic_write_bytes
from bizlm.batch.inputs import ROW_COLUMN, read_part
from bizlm.errors import DataError
from bizlm.log import logger

#: the column that tells, inside the job only, which input file a row comes from
PART_COLUMN = "_bizlm_part"


@dataclass
class PendingPart:
    """An input file still to predict, the part it becomes, and its predictions so far."""

    source: Path
    target: Path
    rows: int
    pieces: list[pa.Table] = field(default_factory=list)
    received: int = 0


class PartWriter:
    """Collects predicted rows by input file and writes each part once all its rows are in."""

    def __init__(
        self, parts: list[PendingPart], columns: dict[str, pa.DataType], encoding: str
    ) -> None:
        self.parts = parts
        self.columns = columns
        self.encoding = encoding
        self.written = 0
        self.empty_text = 0

    def add(self, batch: pa.Table) -> None:
        """File the rows of ``batch`` (prediction columns, row and part) under their parts."""
        for index in pc.unique(batch.column(PART_COLUMN)).to_pylist():
            part = self.parts[index]
            rows = batch.filter(pc.equal(batch.column(PART_COLUMN), index))
            part.pieces.append(rows.select([ROW_COLUMN, *self.columns]))
            part.received += rows.num_rows
            if part.received == part.rows:
                self.finish(part)

    def finish(self, part: PendingPart) -> None:
        """Write ``part``: its file's rows, in order, with the prediction columns added."""
        table = read_part(part.source, self.encoding)
        nothing = {name: pa.nulls(0, kind) for name, kind in self.columns.items()}
        predicted = pa.concat_tables(
            [pa.table({ROW_COLUMN: pa.array([], pa.int64()), **nothing}), *part.pieces],
            promote_options="default",
        ).sort_by(ROW_COLUMN)
        if predicted.column(ROW_COLUMN).to_pylist() != list(range(table.num_rows)):
            raise DataError(
                f"'{part.source}' changed while it was predicted.",
                hint="Run the command again once the file is complete.",
            )
        for name in self.columns:
            table = put_column(table, name, predicted.column(name))
        write_part(table, part.target)
        self.written += 1
        self.empty_text += table.column(next(iter(self.columns))).null_count
        part.pieces.clear()
        logger.info("Wrote %s (%d rows).", part.target, table.num_rows)


def put_column(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """``table`` with the column ``name`` set to ``values``: replaced where it exists, else
    added at the end."""
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def write_part(table: pa.Table, path: Path) -> None:
    """Write ``table`` as Parquet to ``path`` through a temporary file and a rename."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise DataError(
            f"Cannot write '{path}': {exc.strerror or exc}.",
            hint="Pass --output FOLDER in a place you can write to.",
        ) from None
