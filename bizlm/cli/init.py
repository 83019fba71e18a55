"""``bizlm init recipe``: look at a data file and write a commented recipe for it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bizlm.cli.output import err, out
from bizlm.init.plan import plan_recipe
from bizlm.init.write import refuse_existing, write_recipe

init_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Start a project from your own data."
)


@init_app.command("recipe")
def recipe(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Your labelled data: CSV, TSV, JSONL, JSON or Parquet; CoNLL for tagging.",
        ),
    ],
    task: Annotated[
        str | None,
        typer.Option(help="classify, tag or score (default: decided from the labels)."),
    ] = None,
    output: Annotated[Path, typer.Option(help="Recipe file to write.")] = Path("recipe.yaml"),
    text_column: Annotated[
        str | None, typer.Option(help="Column of the texts (default: found by name or content).")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option(help="Column of the labels (default: found by name or content).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing recipe.")] = False,
) -> None:
    """Write a recipe for a data file, saying what was chosen and why (asks nothing)."""
    refuse_existing(output, force)
    plan = plan_recipe(data, task, text_column, label_column)
    for choice in plan.choices:
        value = choice.value["name"] if choice.key == "method" else choice.value
        _say(f"{choice.key}: {value} — {choice.reason}")
        for note in choice.notes:
            _say(f"  {note}")
    for warning in plan.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    write_recipe(plan, output, force)
    _say(f"wrote {output}; train with: bizlm train {output}")


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False, soft_wrap=True)
