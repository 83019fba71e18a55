"""``bizlm serve``: run the model server (FastAPI under uvicorn)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from bizlm.serve.settings import ServeSettings

_LIMITS = "Limits"
_BATCHING = "Micro-batching"
_LOGGING = "Privacy and audit"


def serve(
    bundles: Annotated[
        list[Path] | None,
        typer.Argument(help="Bundles to serve under their folder names (default: the registry)."),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            help="Registry URL: production models (unless bundles are given), API keys, audit "
            "table. Default: $BIZLM_REGISTRY or sqlite:///$BIZLM_HOME/registry.db.",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port to listen on (1-65535).")
    ] = 8000,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No API keys (only on a loopback host).")
    ] = False,
    max_batch_size: Annotated[
        int, typer.Option(help="Most texts per model call.", rich_help_panel=_BATCHING)
    ] = 32,
    max_wait_ms: Annotated[
        float,
        typer.Option(help="Longest wait for a batch to fill, in ms.", rich_help_panel=_BATCHING),
    ] = 5.0,
    max_texts: Annotated[
        int, typer.Option(help="Most texts per request.", rich_help_panel=_LIMITS)
    ] = 64,
    max_text_chars: Annotated[
        int, typer.Option(help="Longest text, in characters.", rich_help_panel=_LIMITS)
    ] = 10_000,
    max_body_bytes: Annotated[
        int, typer.Option(help="Largest request body, in bytes.", rich_help_panel=_LIMITS)
    ] = 1_000_000,
    max_explain_texts: Annotated[
        int, typer.Option(help="Most texts per request with explain.", rich_help_panel=_LIMITS)
    ] = 8,
    timeout: Annotated[
        float, typer.Option(help="Seconds before a request gets 504.", rich_help_panel=_LIMITS)
    ] = 30.0,
    max_header_bytes: Annotated[
        int,
        typer.Option(help="Largest request line and headers, in bytes.", rich_help_panel=_LIMITS),
    ] = 32_768,
    max_headers: Annotated[
        int, typer.Option(help="Most header fields per request.", rich_help_panel=_LIMITS)
    ] = 100,
    header_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds a client has to send its request headers.", rich_help_panel=_LIMITS
        ),
    ] = 10.0,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between registry checks (hot reload, key changes).")
    ] = 5.0,
    mask_input: Annotated[
        bool,
        typer.Option(
            "--mask-input",
            help="Mask personal data before the model sees it.",
            rich_help_panel=_LOGGING,
        ),
    ] = False,
    mask_names: Annotated[
        Path | None,
        typer.Option(
            "--mask-names",
            metavar="BUNDLE",
            help="Also mask names and places ([NAME], [ADDRESS]) with this tag bundle, wherever "
            "the server masks (input with --mask-input, audit texts).",
            rich_help_panel=_LOGGING,
        ),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            help="Append an audit event per request to this JSONL file.", rich_help_panel=_LOGGING
        ),
    ] = None,
    audit_db: Annotated[
        bool,
        typer.Option(
            "--audit-db",
            help="Also store audit events in the registry database.",
            rich_help_panel=_LOGGING,
        ),
    ] = False,
    audit_texts: Annotated[
        bool,
        typer.Option(
            "--audit-texts",
            help="Put the texts (masked) in audit events.",
            rich_help_panel=_LOGGING,
        ),
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="CPU threads for inference (default: every usable core).",
            rich_help_panel=_BATCHING,
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log each request line (masked).", rich_help_panel=_LOGGING)
    ] = True,
) -> None:
    """Serve models over HTTP: predict, model info, health, Prometheus metrics, docs at /docs."""
    import uvicorn

    from bizlm.serve.app import create_app
    from bizlm.serve.limits import uvicorn_http_options
    from bizlm.serve.settings import ServeSettings

    settings = ServeSettings(
        registry_url=registry,
        bundles=tuple(bundles or ()),
        host=host,
        auth=not no_auth,
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        max_texts=max_texts,
        max_text_chars=max_text_chars,
        max_body_bytes=max_body_bytes,
        max_explain_texts=max_explain_texts,
        timeout_s=timeout,
        max_header_bytes=max_header_bytes,
        max_headers=max_headers,
        header_timeout_s=header_timeout,
        poll_interval_s=poll_interval,
        mask_input=mask_input,
        mask_names=mask_names,
        audit_path=audit_log,
        audit_db=audit_db,
        audit_texts=audit_texts,
    ).check()
    _check_sources(settings)
    if settings.mask_names is not None:
        from bizlm.pii import NameMasker, use_name_masker

        use_name_masker(NameMasker.load(settings.mask_names))
    import torch

    # every core: on 2 cores, leaving one to HTTP served 27% fewer requests under load
    torch.set_num_threads(threads or _usable_cores())
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=masked_log_config(),
        access_log=access_log,
        timeout_graceful_shutdown=int(timeout) + 1,
        **uvicorn_http_options(settings),
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_sources(settings: ServeSettings) -> None:
    """Fail fast, with exit code 2, on a bundle that is not one or an unreachable registry."""
    from bizlm.bundle import read_bundle_info
    from bizlm.registry.store import Registry
    from bizlm.serve.settings import ServeError

    for path in settings.bundles:
        read_bundle_info(path)
    if not settings.bundles and not Registry(settings.registry_url).production():
        raise ServeError(
            "The registry has no production model to serve.",
            hint="Promote one (`bizlm registry promote NAME VERSION`) or pass bundle folders.",
        )


def masked_log_config() -> dict[str, Any]:
    """Uvicorn's logging setup with personal data masked in every line, plus bizlm's logs."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"pii": {"()": "bizlm.pii.PiiLogFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["pii"]
    config["loggers"]["bizlm"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
