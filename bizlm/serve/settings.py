"""Settings of the model server (every one has a ``bizlm serve`` option)."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path

from bizlm.errors import BizlmError


class ServeError(BizlmError):
    """The server cannot start with the settings given."""


@dataclass(frozen=True)
class ServeSettings:
    """How the server finds models, batches, authenticates, limits and logs.

    Models come from ``bundles`` (each served under its folder name) when given, else from the
    production versions in the registry at ``registry_url``. API keys and the database audit
    log always live in that registry.
    """

    registry_url: str | None = None
    bundles: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    auth: bool = True
    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_texts: int = 64
    max_text_chars: int = 10_000
    max_body_bytes: int = 1_000_000
    timeout_s: float = 30.0
    poll_interval_s: float = 5.0
    mask_input: bool = False
    mask_names: Path | None = None
    audit_path: Path | None = None
    audit_db: bool = False
    audit_texts: bool = False
    max_explain_texts: int = 8
    explain_steps: int = 20
    max_header_bytes: int = 32_768
    max_headers: int = 100
    header_timeout_s: float = 10.0

    def registry(self) -> str:
        """The registry URL (keys, audit table, and models unless bundles are given)."""
        from bizlm.registry.db import default_url

        return self.registry_url or default_url()

    def check(self) -> ServeSettings:
        """Return the settings if they make sense, else raise :class:`ServeError`."""
        if not self.auth and not is_loopback(self.host):
            raise ServeError(
                f"--no-auth is only allowed on a loopback host, not '{self.host}'.",
                hint="Serve on 127.0.0.1, or create a key with `bizlm keys create`.",
            )
        positive = {
            "--max-batch-size": self.max_batch_size,
            "--max-texts": self.max_texts,
            "--max-text-chars": self.max_text_chars,
            "--max-body-bytes": self.max_body_bytes,
            "--max-explain-texts": self.max_explain_texts,
            "--explain-steps": self.explain_steps,
            "--timeout": self.timeout_s,
            "--poll-interval": self.poll_interval_s,
            "--max-header-bytes": self.max_header_bytes,
            "--max-headers": self.max_headers,
            "--header-timeout": self.header_timeout_s,
        }
        for option, value in positive.items():
            if not math.isfinite(value) or value <= 0:
                raise ServeError(f"{option} must be positive and finite, not {value}.")
        if self.max_wait_ms < 0:
            raise ServeError(f"--max-wait-ms must be 0 or more, not {self.max_wait_ms}.")
        return self


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
