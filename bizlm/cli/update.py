"""The ``bizlm update`` and ``bizlm data stream`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bizlm.cli.options import JsonOption
from bizlm.cli.output import err, out
from bizlm.continual.bundle import ForgettingGateError
from bizlm.continual.stream import write_stream
from bizlm.continual.update import update as run_update
from bizlm.progress import Reporter, RichReporter


def _shown(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def update(
    bundle: Annotated[Path, typer.Argument(help="Bundle to continue (from train or update).")],
    data: Annotated[Path, typer.Option(help="Labelled file with the new examples.")],
    output: Annotated[Path, typer.Option(help="Bundle directory to write.")],
    strategy: Annotated[
        str | None,
        typer.Option(help="naive, replay, ewc, lwf or adapters (default: continual.strategy)."),
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: a.b=value.")] = None,
    max_forgetting: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Reject (exit code 3, bundle written and marked rejected) an update whose "
            "accuracy on the past stages drops by more than this fraction (0.02 = 2 points).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add new data (and new labels) to a bundle without forgetting the old ones."""
    reporter = Reporter() if quiet or as_json else RichReporter(err)
    try:
        result = run_update(bundle, data, output, strategy, set_ or [], max_forgetting, reporter)
        info = result.info
    except ForgettingGateError as exc:
        err.print(f"[bold red]rejected:[/bold red] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    record = info["continual"]
    if as_json:
        payload = {"bundle": str(output), "labels": info["labels"], **record}
        out.print_json(json.dumps(payload, default=str))
        return
    matrix = record["matrix"]
    table = Table("after stage", *(f"stage {j}" for j in range(len(matrix))))
    for i, row in enumerate(matrix):
        table.add_row(str(i), *(_shown(v) for v in row), *([""] * (len(matrix) - len(row))))
    out.print(table)
    summary, gate = record["summary"], record["gate"]
    out.print(
        f"bundle: {output}  strategy: {record['strategy']}  labels: {len(info['labels'])}\n"
        f"average accuracy {_shown(summary['average_accuracy'])}  BWT {_shown(summary['bwt'])}  "
        f"old-stage accuracy {_shown(gate['old_accuracy_before'])} -> "
        f"{_shown(gate['old_accuracy_after'])}"
    )


def stream(
    name: Annotated[str, typer.Argument(help="Catalog dataset name.")],
    stages: Annotated[int, typer.Option(help="Number of class-incremental stages.")],
    output: Annotated[Path, typer.Option(help="Folder to write the stages into.")],
    seed: Annotated[int, typer.Option(help="Seed of the label order.")] = 13,
    label_column: Annotated[
        str, typer.Option(help="Label column to split on (e.g. trec's label_fine).")
    ] = "label",
    as_json: JsonOption = False,
) -> None:
    """Split a catalog dataset into K class-incremental stages (seeded)."""
    manifest = write_stream(name, stages, output, seed, label_column)
    if as_json:
        out.print_json(json.dumps(manifest))
        return
    for stage in manifest["stages"]:
        counts = stage["counts"]
        out.print(
            f"stage {stage['index']}: {', '.join(stage['labels'])}  "
            f"(train {counts['train']}, validation {counts['validation']}, test {counts['test']})"
        )
    left_out = {split: n for split, n in manifest["left_out"].items() if n}
    if left_out:
        shown = ", ".join(f"{n} {split}" for split, n in left_out.items())
        out.print(f"left out: {shown} rows whose label never occurs in the training split")
    out.print(f"written to {output}")
