"""``bizlm registry ...`` and ``bizlm keys ...``: manage model versions and API keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bizlm.cli.options import JsonOption
from bizlm.cli.output import echo_json, err, out
from bizlm.registry.keys import KeyStore
from bizlm.registry.store import Registry

registry_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Model versions with stages (staging, production, archived) for `bizlm serve`.",
)
keys_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="API keys for `bizlm serve`."
)

RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="SQLAlchemy URL of the registry (default: $BIZLM_REGISTRY or "
        "sqlite:///$BIZLM_HOME/registry.db).",
    ),
]
StageOption = Annotated[str, typer.Option(help="staging, production or archived.")]


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("-" if value is None else str(value))


@registry_app.command("add")
def registry_add(
    name: Annotated[str, typer.Argument(help="Model name (used in the server's URLs).")],
    bundle: Annotated[Path, typer.Argument(help="Bundle directory written by `bizlm train`.")],
    stage: StageOption = "staging",
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a bundle as the next version of a model (refused unless it loads)."""
    version = Registry(registry).add(name, bundle, stage)
    if as_json:
        echo_json(version.summary())
    else:
        out.print(f"{name} version {version.version} ({version.stage}): {version.bundle}")


@registry_app.command("list")
def registry_list(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """List registered versions with their stage and headline metrics."""
    versions = Registry(registry).list(name)
    if as_json:
        echo_json([v.summary() for v in versions])
        return
    table = Table("name", "version", "stage", "accuracy", "macro-F1", "registered", "bundle")
    for v in versions:
        table.add_row(
            v.name,
            str(v.version),
            v.stage,
            _fmt(v.metrics.get("accuracy")),
            _fmt(v.metrics.get("macro_f1")),
            v.registered_at.strftime("%Y-%m-%d %H:%M"),
            v.bundle,
        )
    out.print(table if versions else "no versions registered")


@registry_app.command("promote")
def registry_promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    stage: StageOption = "production",
    registry: RegistryOption = None,
) -> None:
    """Move a version to a stage; the previous production version becomes archived.

    A version is made production only if its files are as registered and it loads (else exit 3).
    """
    promoted = Registry(registry).promote(name, version, stage)
    out.print(f"{name} version {promoted.version} is now {promoted.stage}")


@registry_app.command("rollback")
def registry_rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    registry: RegistryOption = None,
) -> None:
    """Make the previous production version production again (only if it loads, else exit 3)."""
    restored = Registry(registry).rollback(name)
    out.print(f"{name} version {restored.version} is production again")


@registry_app.command("remove")
def registry_remove(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    registry: RegistryOption = None,
) -> None:
    """Remove a version from the registry (its bundle folder is kept)."""
    removed = Registry(registry).remove(name, version)
    out.print(f"removed {name} version {removed.version}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who uses the key (shown in audit logs).")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="Comma-separated: predict, admin.")
    ] = "predict",
    rate_limit: Annotated[
        float | None,
        typer.Option(help="Requests per second allowed, above 0 (default: 10, bursts of 20)."),
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option(help="Requests allowed at once above the rate (default: 1 s of requests)."),
    ] = None,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    key, record = KeyStore(registry).create(
        name, [s.strip() for s in scopes.split(",") if s.strip()], rate_limit, burst
    )
    if as_json:
        echo_json({"key": key, **record.summary()})
        return
    typer.echo(key)
    err.print(f"key '{name}' ({', '.join(record.scopes)}) created; it is shown only this once.")


@keys_app.command("list")
def keys_list(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """List API keys (names, scopes and limits; never the keys)."""
    keys = KeyStore(registry).list(include_revoked=all_)
    if as_json:
        echo_json([k.summary() for k in keys])
        return
    table = Table("name", "key id", "scopes", "rate limit", "burst", "created", "revoked")
    for k in keys:
        table.add_row(
            k.name,
            k.key_id,
            ",".join(k.scopes),
            _fmt(k.rate_limit),
            _fmt(k.burst),
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "-",
        )
    out.print(table if keys else "no keys")


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="Key name or key id.")],
    registry: RegistryOption = None,
) -> None:
    """Revoke a key (a running server stops accepting it within its poll interval)."""
    revoked = KeyStore(registry).revoke(name)
    out.print(f"revoked key '{revoked.name}' ({revoked.key_id})")
