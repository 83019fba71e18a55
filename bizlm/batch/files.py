"""Predict CSV, JSONL and Parquet files on Ray into Parquet parts, one per input file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import ray
import ray.data

from bizlm.batch.dataset import score_dataset
from bizlm.batch.inputs import ROW_COLUMN, input_files, part_names, read_part
from bizlm.batch.parts import PART_COLUMN, PartWriter, PendingPart
from bizlm.batch.scorer import CheckedBundle
from bizlm.batch.session import ray_session
from bizlm.errors import BizlmError, DataError

#: blocks the rows are cut into per actor, so that every actor of the pool gets work
BLOCKS_PER_ACTOR = 4
#: the most rows of one block
MAX_BLOCK_ROWS = 4096


def predict_files_on_ray(
    bundle: str | Path,
    input: str,
    output_dir: str | Path,
    text_column: str | None = None,
    address: str | None = None,
    actors: int = 1,
    batch_size: int = 64,
    encoding: str = "utf-8",
    show_progress: bool = True,
) -> dict[str, Any]:
    """Predict every row of the files ``input`` names (a file, a folder or a glob) on Ray.

    Each input file becomes one Parquet part in ``output_dir``: its rows in order, every
    column kept, plus :data:`~bizlm.batch.inputs.ROW_COLUMN` and the prediction columns. A
    part is written atomically as soon as its rows are predicted, under a name that depends
    only on the input paths; a part that exists is skipped, so a rerun finishes a stopped
    job. Every pending file is read and checked, and the bundle loaded once, before Ray
    starts; then one pool of ``actors`` predicts all of them. Without ``address`` a local Ray
    with ``actors`` CPUs runs for the job; with it, the cluster there is joined (bizlm and
    the bundle's folder must be there on every node). Only the columns the model reads are
    sent to the actors.
    """
    files = input_files(input)
    output = _output_folder(Path(output_dir))
    names = part_names(files)
    pending = [file for file in files if not (output / names[file]).exists()]
    summary: dict[str, Any] = {"input": input, "files": len(files), "rows": 0}
    summary["skipped"] = len(files) - len(pending)
    written, empty_text = 0, 0
    if pending:
        checked = CheckedBundle.load(bundle)
        parts, texts = [], []
        for index, file in enumerate(pending):
            table = read_part(file, encoding)
            columns = [name for name in table.column_names if name != ROW_COLUMN]
            checked.check_columns(columns, text_column, f"'{file}'")
            parts.append(PendingPart(file, output / names[file], table.num_rows))
            texts.append(_model_inputs(table, checked.text_columns(text_column), index))
            summary["rows"] += table.num_rows
        writer = PartWriter(parts, checked.column_types, encoding)
        for part in parts:
            if part.rows == 0:
                writer.finish(part)
        rows = _concat(texts, pending)
        if rows.num_rows:
            ray.data.DataContext.get_current().enable_progress_bars = show_progress
            with ray_session(address, actors):
                _predict(checked, rows, text_column, actors, batch_size, writer)
        written, empty_text = writer.written, writer.empty_text
    return {**summary, "written": written, "empty_text": empty_text, "output": str(output)}


def _output_folder(output: Path) -> Path:
    """``output`` created as a folder; :class:`DataError` when it is a file."""
    if output.exists() and not output.is_dir():
        raise DataError(
            f"--output '{output}' is a file; predictions on Ray are written as Parquet parts "
            "into a folder.",
            hint="Pass --output FOLDER (created when missing).",
        )
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"Cannot create the folder '{output}': {exc.strerror or exc}.",
            hint="Pass --output FOLDER in a place you can write to.",
        ) from None
    return output


def _model_inputs(table: pa.Table, read: list[str], index: int) -> pa.Table:
    """The columns of ``table`` the model reads (texts as text), its row and part numbers."""
    kept = {}
    for name in [c for c in read if c in table.column_names]:
        column = table.column(name)
        as_text = pa.types.is_string(column.type) or pa.types.is_nested(column.type)
        kept[name] = column if as_text else pc.cast(column, pa.string())
    kept[ROW_COLUMN] = table.column(ROW_COLUMN)
    kept[PART_COLUMN] = pa.array([index] * table.num_rows, pa.int64())
    return pa.table(kept)


def _concat(tables: list[pa.Table], files: list[Path]) -> pa.Table:
    """One table of the model's inputs of every file."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(
            f"The files {', '.join(map(str, files))} give a column different types: {exc}.",
            hint="Give the text column the same kind of values in every file, or predict the "
            "files one at a time.",
        ) from None


def _predict(
    checked: CheckedBundle,
    rows: pa.Table,
    text_column: str | None,
    actors: int,
    batch_size: int,
    writer: PartWriter,
) -> None:
    """Predict ``rows`` with one pool of ``actors``, handing the results to ``writer``."""
    size = min(MAX_BLOCK_ROWS, -(-rows.num_rows // (actors * BLOCKS_PER_ACTOR)))
    blocks = [rows.slice(start, size) for start in range(0, rows.num_rows, size)]
    dataset = score_dataset(checked, ray.data.from_arrow(blocks), text_column, actors, batch_size)
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            writer.add(batch)
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BizlmError):
            raise cause from None
        raise BizlmError(
            f"The Ray workers failed: {str(cause or exc).strip().splitlines()[0]}",
            hint="Check that bizlm and the bundle's folder are there on every node of the cluster.",
        ) from None
