"""Command-line options and the server runner that every ``bizlm app NAME`` group shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

FolderArgument = Annotated[Path, typer.Argument(help="The application folder.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on (1-65535).")]
NoAuthOption = Annotated[
    bool, typer.Option("--no-auth", help="No API keys (only on a loopback host).")
]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="Registry URL holding the API keys. Default: $BIZLM_REGISTRY or "
        "sqlite:///$BIZLM_HOME/registry.db.",
    ),
]


def run_server(app: Any, host: str, port: int, access_log: bool = True) -> None:
    """Run an application's ASGI app under uvicorn, personal data masked in every log line.

    The model server's default header limits apply (size, count and read time).
    """
    import uvicorn

    from bizlm.serve.commands import masked_log_config
    from bizlm.serve.limits import uvicorn_http_options
    from bizlm.serve.settings import ServeSettings

    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=masked_log_config(),
        access_log=access_log,
        **uvicorn_http_options(ServeSettings(host=host)),
    )
