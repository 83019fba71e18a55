"""Waiting for a service started in a subprocess to answer ``/readyz``."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def wait_until_ready(
    process: subprocess.Popen, url: str, log: Path | None = None, seconds: float = 300
) -> None:
    """Return once ``url``/readyz answers 200; stop the benchmark if the process ends first
    (with its log, when there is one) or after ``seconds``."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            detail = f":\n{log.read_text()}" if log is not None else ""
            raise SystemExit(f"the service stopped{detail}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the service did not start within {seconds:.0f} s")
        time.sleep(0.3)
