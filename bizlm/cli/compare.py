"""``bizlm compare``: several methods on the same data and budget, and their leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bizlm.cli.options import JsonOption, SetOption, ShotsOption
from bizlm.cli.output import emit_json, err, out
from bizlm.compare.leaderboard import to_markdown
from bizlm.compare.run import compare as run_comparison
from bizlm.progress import Reporter, RichReporter


def compare(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file (data, model, budget).")],
    methods: Annotated[str, typer.Option(help="Comma-separated methods.")] = (
        "full,lora,adalora,ia3,prefix,bitfit,head"
    ),
    seeds: Annotated[
        int,
        typer.Option(
            min=1,
            max=20,
            help="Seeds per method (with --shots, each seed draws its own K-shot sample).",
        ),
    ] = 1,
    shots: ShotsOption = None,
    set_: SetOption = None,
    output: Annotated[Path, typer.Option(help="Folder for bundles and leaderboard.")] = Path(
        "runs/compare"
    ),
    as_json: JsonOption = False,
) -> None:
    """Train several methods on the same data and budget; write a leaderboard."""
    names = [m.strip() for m in methods.split(",") if m.strip()]
    overrides = list(set_ or []) + ([f"data.shots={shots}"] if shots else [])
    reporter = Reporter() if as_json else RichReporter(err)
    board = run_comparison(recipe, names, seeds, output, overrides, reporter)
    if as_json:
        emit_json(board)
        return
    out.print(to_markdown(board["rows"], f"Methods on {recipe.stem}"), markup=False)
    out.print(f"leaderboard: {output / 'leaderboard.md'}, {output / 'leaderboard.png'}")
