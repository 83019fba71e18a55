"""Command-line options that several commands share."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer

from bizlm.serve.settings import Option, ServeSettings, option_of

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override: a.b=value.")]
ShotsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="K",
        help="Few-shot budget: train on K examples per label, drawn with train.seed "
        "(same as --set data.shots=K).",
    ),
]


def typer_option(option: Option) -> Any:
    """The typer option of a server setting: its name, help, help panel and limits."""
    decls = (option.flag,) if option.flag else ()
    return typer.Option(
        *decls,
        help=option.help,
        rich_help_panel=option.panel,
        metavar=option.metavar,
        min=option.minimum,
        max=option.maximum,
    )


def setting_option(name: str) -> Any:
    """The typer option of the :class:`ServeSettings` field ``name``."""
    (found,) = (
        settings_field for settings_field in fields(ServeSettings) if settings_field.name == name
    )
    return typer_option(option_of(found))


# the options of every ``bizlm app NAME`` group; the server's own come from its settings
FolderArgument = Annotated[Path, typer.Argument(help="The application folder.")]
HostOption = Annotated[str, setting_option("host")]
PortOption = Annotated[int, setting_option("port")]
NoAuthOption = Annotated[bool, setting_option("auth")]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="Registry URL holding the API keys. Default: $BIZLM_REGISTRY or "
        "sqlite:///$BIZLM_HOME/registry.db.",
    ),
]
