"""`bizlm app risk` sub-commands: init, train, serve, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bizlm.apps.risk.config import RiskError, RiskFolder, parse_duration
from bizlm.apps.risk.items import TimeBounds
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.replay import parse_speed, plan_replay
from bizlm.apps.risk.replay_targets import replay_to_folder, replay_to_url
from bizlm.apps.risk.service import create_risk_app
from bizlm.apps.risk.workspace import InitOptions, init_folder, train_models
from bizlm.cli.apps.server import run_server
from bizlm.cli.options import (
    FolderArgument,
    HostOption,
    JsonOption,
    NoAuthOption,
    PortOption,
    RegistryOption,
)
from bizlm.serve.settings import ServeSettings

risk_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="The financial risk monitor: topic and sentiment of a news stream, negative-surge alerts.",
)


def _print(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, default=str))
    else:
        for key, value in payload.items():
            typer.echo(f"{key}: {value}")


@risk_app.command()
def init(
    folder: FolderArgument,
    topic_bundle: Annotated[
        Path | None, typer.Option(help="Use this topic bundle instead of training one.")
    ] = None,
    sentiment_bundle: Annotated[
        Path | None, typer.Option(help="Use this sentiment bundle instead of training one.")
    ] = None,
    entity_bundle: Annotated[
        Path | None, typer.Option(help="An NER (tag) bundle for companies and people.")
    ] = None,
    window: Annotated[str, typer.Option(help="Trend window, 5m … 1d.")] = "1h",
    webhook: Annotated[
        list[str] | None, typer.Option(help="POST alerts to this URL (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a monitor folder: risk.yaml, rules.yaml, recipes/, inbox/."""
    hooks = tuple(webhook or ())
    created = init_folder(
        folder, InitOptions(topic_bundle, sentiment_bundle, entity_bundle, window, hooks)
    )
    _print({"folder": str(created.root), "next": f"bizlm app risk train {folder}"}, as_json)


@risk_app.command()
def train(
    folder: FolderArgument,
    retrain: Annotated[bool, typer.Option(help="Retrain models that already exist.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Train the topic and sentiment models from the folder's recipes (missing ones only)."""
    trained = train_models(folder, retrain)
    _print({"trained": {role: str(path) for role, path in trained.items()}}, as_json)


@risk_app.command()
def serve(
    folder: FolderArgument,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    no_auth: NoAuthOption = False,
    registry: RegistryOption = None,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between background passes.")
    ] = 1.0,
    max_body_bytes: Annotated[
        int, typer.Option(help="Largest request body, in bytes.")
    ] = 5_000_000,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis", help="Also read items from a Redis stream: redis://HOST:PORT/DB."),
    ] = None,
    stream: Annotated[str | None, typer.Option(help="The Redis stream to read (--redis).")] = None,
    group: Annotated[
        str, typer.Option(help="Consumer group; monitors in one group share the stream.")
    ] = "bizlm-risk",
    consumer: Annotated[
        str | None, typer.Option(help="Consumer name in the group (default: host-pid).")
    ] = None,
    claim_idle: Annotated[
        str, typer.Option(help="Take over entries another consumer left unacknowledged this long.")
    ] = "60s",
) -> None:
    """Serve the ingest API, the inbox watcher, the alerts and the dashboard (at /)."""
    broker_settings = _stream_settings(redis_url, stream, group, consumer, claim_idle)
    client = _broker_module().connect(broker_settings) if broker_settings is not None else None
    monitor = Monitor.open(folder)
    config = monitor.folder.config
    models = (config.topic_model, config.sentiment_model)
    settings = ServeSettings(
        registry_url=registry,
        bundles=tuple(monitor.folder.path(model) for model in models),
        host=host,
        auth=not no_auth,
        max_body_bytes=max_body_bytes,
    ).check()
    broker = None
    if broker_settings is not None:
        broker = _broker_module().StreamConsumer(monitor, broker_settings, client)
    app = create_risk_app(monitor, settings, interval_s=interval, broker=broker)
    run_server(app, host, port)


def _stream_settings(
    url: str | None, stream: str | None, group: str, consumer: str | None, claim_idle: str
) -> Any:
    """The Redis stream settings of ``serve``, None without --redis; RiskError when incomplete."""
    if url is None and stream is None:
        return None
    if url is None or stream is None:
        raise RiskError(
            "--redis and --stream go together.",
            hint="Give both, e.g. --redis redis://127.0.0.1:6379/0 --stream news.",
        )
    named = {"consumer": consumer} if consumer else {}
    idle = parse_duration(claim_idle, "--claim-idle")
    return _broker_module().StreamSettings(url, stream, group, claim_idle_s=idle, **named)


def _broker_module() -> Any:
    """The Redis stream consumer module; RiskError when the ``broker`` extra is missing."""
    try:
        from bizlm.apps.risk import broker  # needs the optional redis package
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise RiskError(
            "--redis needs the redis package.", hint="Install it: pip install 'bizlm[broker]'."
        ) from None
    return broker


@risk_app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="JSONL file of items (id, time, source, text).")],
    speed: Annotated[str, typer.Option(help="Replay speed: 60x, 1x, or max.")] = "60x",
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Ingest into this monitor folder.")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Or send to this running service.")] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="BIZLM_API_KEY", help="API key for --url.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replay a historical stream in time order, sped up, into a folder or a running service."""
    if (folder is None) == (url is None):
        raise RiskError("Give exactly one of --dir FOLDER or --url URL.")
    pace = parse_speed(speed)
    bounds = RiskFolder.open(folder).time_bounds if folder is not None else TimeBounds()
    plan = plan_replay(file, bounds)
    if folder is not None:
        summary = replay_to_folder(plan, pace, folder)
    else:
        assert url is not None
        summary = replay_to_url(plan, pace, url, api_key)
    _print(summary, as_json)
    if summary["rejected"]:
        _warn_rejected(summary["rejected"], len(plan.items) + len(plan.unreadable))


def _warn_rejected(rejected: list[dict[str, Any]], total: int) -> None:
    """Say on stderr how many lines were not stored, and why (the first few reasons)."""
    reasons = "; ".join(r["reason"] for r in rejected[:3])
    more = f"; and {len(rejected) - 3} more" if len(rejected) > 3 else ""
    typer.echo(
        f"warning: {len(rejected)} of {total} lines were rejected and not stored: {reasons}"
        f"{more}. Every one is listed under 'rejected' with its line and reason.",
        err=True,
    )
