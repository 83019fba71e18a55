"""`bizlm app recommend` sub-commands: init, train, rank, serve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from bizlm.apps.recommend.interactions import describe_report
from bizlm.apps.recommend.recommender import Recommender, Request
from bizlm.apps.recommend.service import create_recommend_app
from bizlm.apps.recommend.setup import init_application
from bizlm.apps.recommend.training import train_application
from bizlm.cli.apps.server import run_server
from bizlm.cli.options import (
    FolderArgument,
    HostOption,
    JsonOption,
    NoAuthOption,
    PortOption,
    RegistryOption,
)
from bizlm.cli.output import emit_json, err, out
from bizlm.progress import Reporter, RichReporter
from bizlm.serve.settings import ServeSettings

recommend_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Text-based recommender: fine-tuned text scores combined with behaviour signals.",
)


@recommend_app.command("init")
def init(
    folder: FolderArgument,
    catalog: Annotated[
        str | None, typer.Option(help="Catalog interaction set, e.g. ml-100k.")
    ] = None,
    interactions: Annotated[
        Path | None, typer.Option(help="Your events file: user, item, time[, event].")
    ] = None,
    items: Annotated[Path | None, typer.Option(help="Your items file: id and text.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing recipe.")] = False,
) -> None:
    """Create an application folder: recipe.yaml and data/ (from the catalog or your files)."""
    recipe = init_application(folder, catalog, interactions, items, force)
    out.print(f"recipe: {recipe}")
    out.print(f"next: bizlm app recommend train {folder}")


@recommend_app.command("train")
def train(
    folder: FolderArgument,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Train the bi-encoder, the text scorer and the ranker; report held-out figures."""
    reporter = Reporter() if quiet or as_json else RichReporter(err)
    report = train_application(folder, reporter)
    if as_json:
        emit_json(report)
        return
    for message in describe_report(report["data"]):
        out.print(message)
    for key, value in report["split"].items():
        out.print(f"{key.replace('_', ' ')}: {value}")
    test = report["test"]
    figures = ", ".join(
        f"{name} {test[name]:.3f}" for name in ("hr10", "ndcg10", "mrr", "auc", "coverage")
    )
    out.print(f"test ({test['users']} users, {test['protocol']}): {figures}")


@recommend_app.command("rank")
def rank(
    folder: FolderArgument,
    user: Annotated[str | None, typer.Option(help="User id from the data.")] = None,
    recent: Annotated[
        list[str] | None, typer.Option(help="An item the (new) user just used; repeatable.")
    ] = None,
    candidate: Annotated[
        list[str] | None, typer.Option(help="Rank only these items; repeatable.")
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="How many items to return.")] = 10,
    include_seen: Annotated[bool, typer.Option(help="Keep items the user already used.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Rank items for a user (or a new user's recent items)."""
    answer = Recommender(folder).recommend(
        Request(
            user, list(recent or []), list(candidate) if candidate else None, k, not include_seen
        )
    )
    if as_json:
        emit_json(answer)
        return
    if answer["cold_start"]:
        out.print("No history for this user: the most popular items (cold_start).")
    table = RichTable("#", "item", "score", "text", "because you used")
    for position, result in enumerate(answer["items"], start=1):
        because = "; ".join(entry["text"] for entry in result["because"])
        table.add_row(
            str(position), result["item"], f"{result['score']:.3f}", result["text"], because
        )
    out.print(table)
    for reason, value in answer["ignored"].items():
        if value:
            err.print(f"{reason.replace('_', ' ')}: {value}")


@recommend_app.command("serve")
def serve(
    folder: FolderArgument,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_auth: NoAuthOption = False,
    registry: RegistryOption = None,
) -> None:
    """Serve POST /v1/recommend (and the scorer model) over HTTP."""
    settings = ServeSettings(registry_url=registry, host=host, auth=not no_auth).check()
    run_server(create_recommend_app(folder, settings), host, port)
