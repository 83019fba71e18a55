"""The per-actor work of batch prediction: load a bundle once, add prediction columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pyarrow as pa

from bizlm.batch.parts import put_column
from bizlm.data.conversations import MESSAGES_COLUMN, SYSTEM_COLUMN
from bizlm.data.readers import Table
from bizlm.errors import DataError
from bizlm.predict_files import (
    Answerer,
    generate_file_rows,
    predict_file_rows,
    prediction_columns,
)
from bizlm.predictor import load
from bizlm.progress import Reporter

#: what a bundle is asked once in the driver, to learn the names and types of its columns
PROBE_TEXT = "probe"


@dataclass(frozen=True)
class CheckedBundle:
    """A bundle that loaded in the driver, with the prediction columns it adds and their types."""

    path: str
    task: str
    task_settings: dict[str, Any]
    column_types: dict[str, pa.DataType]

    @classmethod
    def load(cls, bundle: str | Path) -> CheckedBundle:
        """Load ``bundle`` once here, so that a bundle the actors cannot load fails at once."""
        predictor = load(bundle)
        task, settings = predictor.info.task, dict(predictor.info.task_settings)
        if task == "generate":
            types = {"generated_text": pa.string()}
        else:
            pairs = [PROBE_TEXT] if settings.get("text_pair_column") else None
            probe = predictor.predict([PROBE_TEXT], 1, pairs=pairs)[0]
            cells = prediction_columns(probe, settings.get("label_delimiter", "|"))
            types = {name: pa.array([value]).type for name, value in cells.items()}
        return cls(str(Path(bundle).resolve()), task, settings, types)

    def text_columns(self, text_column: str | None) -> list[str]:
        """The columns the model reads: the text (or prompt) column and any pair column; a
        generate model also reads chat messages and a system message."""
        if self.task == "generate":
            prompt = text_column or self.task_settings.get("prompt_column", "prompt")
            return [prompt, MESSAGES_COLUMN, SYSTEM_COLUMN]
        text = text_column or self.task_settings.get("text_column", "text")
        pair = self.task_settings.get("text_pair_column")
        return [text, pair] if pair else [text]

    def check_columns(self, columns: list[str], text_column: str | None, where: str) -> None:
        """Raise :class:`DataError` naming ``where`` when it lacks a column the model reads."""
        read = self.text_columns(text_column)
        if self.task == "generate":
            missing = [] if {read[0], MESSAGES_COLUMN} & set(columns) else read[:1]
        else:
            missing = [column for column in read if column not in columns]
        if missing:
            raise DataError(
                f"{where} has no column '{missing[0]}'; its columns are: {', '.join(columns)}.",
                hint="Pass --text-column COLUMN to name the column of texts, or fix the file.",
            )


class BundleScorer:
    """A Ray Data callable class: each actor loads the bundle once and predicts its batches.

    Every input column is kept; the bundle's prediction columns are added (a column of the
    same name is replaced). Rows with blank text get empty (null) predictions.
    """

    def __init__(self, bundle: CheckedBundle, text_column: str | None, batch_size: int) -> None:
        self.bundle = bundle
        self.predictor = load(bundle.path)
        self.text_column = text_column
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        """``batch`` with the prediction columns added."""
        rows = batch.to_pylist()
        table = Table(rows, batch.column_names, "a batch", list(range(len(rows))))
        cells = self._predict(table)
        for name, kind in self.bundle.column_types.items():
            values = pa.array([cells.get(i, {}).get(name) for i in range(len(rows))], kind)
            batch = put_column(batch, name, values)
        return batch

    def _predict(self, table: Table) -> dict[int, dict[str, Any]]:
        """Prediction cells of each row with a text, by row position."""
        if self.bundle.task == "generate":
            answerer = cast(Answerer, self.predictor)
            cells, _ = generate_file_rows(
                answerer, table, self.text_column, self.batch_size, Reporter()
            )
            return cells
        cells, _ = predict_file_rows(
            self.predictor, table, self.text_column, self.batch_size, Reporter()
        )
        return cells
