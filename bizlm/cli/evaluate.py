"""``bizlm evaluate``: score a bundle on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from bizlm.cli.options import JsonOption
from bizlm.cli.output import emit_json, number, out, scores_line
from bizlm.evaluation.evaluate_bundle import evaluate as run_evaluation


def evaluate(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV/TSV/JSONL/Parquet file.")],
    text_column: Annotated[
        str | None, typer.Option(help="Text column (default: recipe's).")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option(help="Label column (default: recipe's).")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of the data file.")] = "utf-8",
    as_json: JsonOption = False,
) -> None:
    """Score a bundle on a labelled file."""
    metrics = run_evaluation(bundle, data, text_column, label_column, encoding)
    if as_json:
        emit_json(metrics)
        return
    out.print(scores_line(metrics), markup=False)
    per_item = metrics.get("per_class") or metrics.get("per_type") or {}
    table = RichTable("label", "precision", "recall", "F1", "support")
    for label, scores in per_item.items():
        table.add_row(
            label,
            *(number(scores.get(k)) for k in ("precision", "recall", "f1")),
            str(scores.get("support", "")),
        )
    if per_item:
        out.print(table)
