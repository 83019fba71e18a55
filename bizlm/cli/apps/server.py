"""The server runner that every ``bizlm app NAME serve`` command shares."""

from __future__ import annotations

from typing import Any

import uvicorn

from bizlm.cli.serve import masked_log_config
from bizlm.serve.limits import uvicorn_http_options
from bizlm.serve.settings import ServeSettings


def run_server(app: Any, host: str, port: int, access_log: bool = True) -> None:
    """Run an application's ASGI app under uvicorn, personal data masked in every log line.

    The model server's default header limits apply (size, count and read time).
    """
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=masked_log_config(),
        access_log=access_log,
        **uvicorn_http_options(ServeSettings(host=host)),
    )
