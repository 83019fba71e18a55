"""``bizlm train``: train the model a recipe describes and write its bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bizlm.cli.options import JsonOption, SetOption, ShotsOption
from bizlm.cli.output import emit_json, err, out, scores_line
from bizlm.errors import RecipeError, TrainingInterrupted
from bizlm.progress import Reporter, RichReporter
from bizlm.recipe import load_recipe
from bizlm.training.checkpoints import recipe_from_checkpoint
from bizlm.training.launch import launch_training
from bizlm.training.run import train as run_training


def train(
    recipe: Annotated[
        Path | None, typer.Argument(help="Recipe YAML file (optional with --resume).")
    ] = None,
    set_: SetOption = None,
    output: Annotated[Path | None, typer.Option(help="Bundle directory to write.")] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN_DIR",
            help="Continue the run writing this bundle folder from its latest checkpoint "
            "(RUN_DIR.checkpoints/); without RECIPE, the run's own recipe is used.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    shots: ShotsOption = None,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="Train in this many processes on this machine (at most one per GPU, or per CPU "
            "core without GPUs); train.batch_size is then per process.",
        ),
    ] = 1,
    min_margin: Annotated[
        float | None,
        typer.Option(
            metavar="POINTS",
            help="Gate for pipelines: exit with code 3 (after writing the bundle) unless the "
            "model beats the TF-IDF baseline by at least POINTS on the headline metric "
            "(same as --set evaluation.min_margin=POINTS).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Train the model a recipe describes and write its bundle."""
    overrides = list(set_ or []) + ([f"data.shots={shots}"] if shots else [])
    if output is not None:
        overrides.append(f"output={output}")
    if min_margin is not None:
        overrides.append(f"evaluation.min_margin={min_margin}")
    if recipe is None and resume is None:
        raise RecipeError(
            "No recipe given.",
            hint="Run 'bizlm train RECIPE.yaml', or 'bizlm train --resume RUN_DIR' to continue "
            "a run that wrote checkpoints.",
        )
    if recipe is None:
        loaded = recipe_from_checkpoint(resume, overrides)
    else:
        loaded = load_recipe(recipe, overrides)
    if processes > 1:
        result = launch_training(loaded, processes, resume or False, quiet=quiet or as_json)
    else:
        result = run_training(
            loaded,
            reporter=Reporter() if quiet or as_json else RichReporter(err),
            resume=resume or False,
        )
    metrics, verdict = result.metrics, result.verdict
    if as_json:
        emit_json(
            {
                "bundle": str(result.bundle),
                "metrics": metrics,
                "verdict": verdict,
                "interrupted": result.interrupted,
            }
        )
    else:
        out.print(f"bundle: {result.bundle}")
        out.print(f"{metrics['evaluated_on']}: {scores_line(metrics)}", markup=False)
        _print_comparison(metrics, verdict)
        out.print(f"report: {result.bundle / 'report.html'}")
    if result.interrupted:
        best = result.info["training"]["best"]
        validation = {k.removeprefix("val_"): v for k, v in (best or {}).items() if "val_" in k}
        saved = (
            f"the best checkpoint so far (step {best['step']}, validation "
            f"{scores_line(validation)})"
            if best
            else "the weights before the first evaluation"
        )
        raise TrainingInterrupted(f"Training interrupted; {saved} were saved to {result.bundle}.")
    gated = verdict is not None and verdict.get("min_margin_points") is not None
    if gated and verdict.get("passed") is False:
        err.print(f"[bold red]rejected:[/bold red] {verdict['message']}", highlight=False)
        raise typer.Exit(3)


def _print_comparison(metrics: dict, verdict: dict | None) -> None:
    """The baseline's and the majority-class predictor's scores on the headline split, and
    the verdict in words."""
    split = metrics.get("evaluated_on")
    baseline = (metrics.get("baseline") or {}).get(split)
    if baseline:
        out.print(f"baseline (TF-IDF + linear): {scores_line(baseline)}", markup=False)
    majority = (metrics.get("majority") or {}).get(split)
    if majority:
        out.print(f"majority class: {scores_line(majority)}", markup=False)
    if verdict is not None:
        style = "green" if verdict.get("beats_baseline", verdict.get("beats_majority")) else "red"
        out.print(f"[{style}]{verdict['message']}[/{style}]", highlight=False)
