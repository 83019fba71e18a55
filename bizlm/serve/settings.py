"""Settings of the model server, each declared once with its ``bizlm serve`` option.

A field's :class:`Option` metadata (see :func:`cli_option`) gives its command-line help, panel,
name and limits; ``bizlm serve`` builds its options from these fields, and :meth:`check`
applies the same limits to settings made in code.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from bizlm.errors import BizlmError
from bizlm.registry.db import default_url

LIMITS = "Limits"
BATCHING = "Micro-batching"
LOGGING = "Privacy and audit"


class ServeError(BizlmError):
    """The server cannot start with the settings given."""


@dataclass(frozen=True)
class Option:
    """How one setting is given on the command line and which values it accepts.

    ``help`` is None for a setting with no command-line option. ``flag`` is the option's
    name when it is not ``--field-name`` (``--on/--off`` for a boolean switch; a single name
    makes a boolean a flag); ``negated`` flags set the field to False. ``bound`` is checked
    for numbers: ``positive`` (and finite) or ``non-negative``; ``minimum`` and ``maximum``
    are inclusive.
    """

    help: str | None = None
    panel: str | None = None
    flag: str | None = None
    metavar: str | None = None
    argument: bool = False
    negated: bool = False
    bound: Literal["positive", "non-negative"] | None = None
    minimum: int | None = None
    maximum: int | None = None

    def name(self, field_name: str) -> str:
        """The option's name as error messages show it (``--max-texts``)."""
        return (self.flag or "--" + field_name.replace("_", "-")).split("/")[0]


def cli_option(help: str | None = None, **details: Any) -> dict[str, Option]:
    """Field metadata holding a setting's :class:`Option`."""
    return {"option": Option(help, **details)}


def option_of(settings_field: Field[Any]) -> Option:
    """The :class:`Option` metadata of a :class:`ServeSettings` field."""
    return settings_field.metadata["option"]


@dataclass(frozen=True)
class ServeSettings:
    """How the server finds models, listens, batches, authenticates, limits and logs.

    Models come from ``bundles`` (each served under its folder name) when given, else from the
    production versions in the registry at ``registry_url``. API keys and the database audit
    log always live in that registry. ``port``, ``threads`` and ``access_log`` are read by the
    process ``bizlm serve`` starts; the application servers take their own.
    """

    registry_url: str | None = field(
        default=None,
        metadata=cli_option(
            "Registry URL: production models (unless bundles are given), API keys, audit table. "
            "Default: $BIZLM_REGISTRY or sqlite:///$BIZLM_HOME/registry.db.",
            flag="--registry",
        ),
    )
    bundles: tuple[Path, ...] = field(
        default=(),
        metadata=cli_option(
            "Bundles to serve under their folder names (default: the registry).", argument=True
        ),
    )
    host: str = field(default="127.0.0.1", metadata=cli_option("Address to listen on."))
    port: int = field(
        default=8000, metadata=cli_option("Port to listen on (1-65535).", minimum=1, maximum=65535)
    )
    auth: bool = field(
        default=True,
        metadata=cli_option(
            "No API keys (only on a loopback host).", flag="--no-auth", negated=True
        ),
    )
    max_batch_size: int = field(
        default=32,
        metadata=cli_option("Most texts per model call.", panel=BATCHING, bound="positive"),
    )
    max_wait_ms: float = field(
        default=5.0,
        metadata=cli_option(
            "Longest wait for a batch to fill, in ms.", panel=BATCHING, bound="non-negative"
        ),
    )
    threads: int | None = field(
        default=None,
        metadata=cli_option(
            "CPU threads for inference (default: every usable core).", panel=BATCHING, minimum=1
        ),
    )
    max_texts: int = field(
        default=64, metadata=cli_option("Most texts per request.", panel=LIMITS, bound="positive")
    )
    max_text_chars: int = field(
        default=10_000,
        metadata=cli_option("Longest text, in characters.", panel=LIMITS, bound="positive"),
    )
    max_body_bytes: int = field(
        default=1_000_000,
        metadata=cli_option("Largest request body, in bytes.", panel=LIMITS, bound="positive"),
    )
    max_explain_texts: int = field(
        default=8,
        metadata=cli_option("Most texts per request with explain.", panel=LIMITS, bound="positive"),
    )
    explain_steps: int = field(default=20, metadata=cli_option(bound="positive"))
    max_new_tokens: int = field(
        default=512,
        metadata=cli_option(
            "Most tokens a chat or completion request may generate (its max_tokens).",
            panel=LIMITS,
            minimum=1,
            maximum=32768,
        ),
    )
    tokens_per_minute: int = field(
        default=60000,
        metadata=cli_option(
            "Generated tokens per API key and minute (chat and completion routes); a request "
            "reserves its max_tokens and gets back what it did not use.",
            panel=LIMITS,
            bound="positive",
        ),
    )
    timeout_s: float = field(
        default=30.0,
        metadata=cli_option(
            "Seconds before a request gets 504.", panel=LIMITS, flag="--timeout", bound="positive"
        ),
    )
    max_header_bytes: int = field(
        default=32_768,
        metadata=cli_option(
            "Largest request line and headers, in bytes.", panel=LIMITS, bound="positive"
        ),
    )
    max_headers: int = field(
        default=100,
        metadata=cli_option("Most header fields per request.", panel=LIMITS, bound="positive"),
    )
    header_timeout_s: float = field(
        default=10.0,
        metadata=cli_option(
            "Seconds a client has to send its request headers.",
            panel=LIMITS,
            flag="--header-timeout",
            bound="positive",
        ),
    )
    poll_interval_s: float = field(
        default=5.0,
        metadata=cli_option(
            "Seconds between registry checks (hot reload, key changes).",
            flag="--poll-interval",
            bound="positive",
        ),
    )
    mask_input: bool = field(
        default=False,
        metadata=cli_option(
            "Mask personal data before the model sees it.", panel=LOGGING, flag="--mask-input"
        ),
    )
    mask_names: Path | None = field(
        default=None,
        metadata=cli_option(
            "Also mask names and places ([NAME], [ADDRESS]) with this tag bundle, wherever the "
            "server masks (input with --mask-input, audit texts).",
            panel=LOGGING,
            flag="--mask-names",
            metavar="BUNDLE",
        ),
    )
    audit_path: Path | None = field(
        default=None,
        metadata=cli_option(
            "Append an audit event per request to this JSONL file.",
            panel=LOGGING,
            flag="--audit-log",
        ),
    )
    audit_db: bool = field(
        default=False,
        metadata=cli_option(
            "Also store audit events in the registry database.", panel=LOGGING, flag="--audit-db"
        ),
    )
    audit_texts: bool = field(
        default=False,
        metadata=cli_option(
            "Put the texts (masked) in audit events.", panel=LOGGING, flag="--audit-texts"
        ),
    )
    access_log: bool = field(
        default=True,
        metadata=cli_option(
            "Log each request line (masked).", panel=LOGGING, flag="--access-log/--no-access-log"
        ),
    )

    def registry(self) -> str:
        """The registry URL (keys, audit table, and models unless bundles are given)."""
        return self.registry_url or default_url()

    def check(self) -> ServeSettings:
        """Return the settings if they make sense, else raise :class:`ServeError`."""
        if not self.auth and not is_loopback(self.host):
            raise ServeError(
                f"--no-auth is only allowed on a loopback host, not '{self.host}'.",
                hint="Serve on 127.0.0.1, or create a key with `bizlm keys create`.",
            )
        for settings_field in fields(self):
            value = getattr(self, settings_field.name)
            _check_value(settings_field.name, option_of(settings_field), value)
        return self


def _check_value(field_name: str, option: Option, value: Any) -> None:
    """Raise :class:`ServeError` when a number breaks its option's bound or range."""
    name = option.name(field_name)
    if option.bound == "positive" and (not math.isfinite(value) or value <= 0):
        raise ServeError(f"{name} must be positive and finite, not {value}.")
    if option.bound == "non-negative" and value < 0:
        raise ServeError(f"{name} must be 0 or more, not {value}.")
    low, high = option.minimum, option.maximum
    if value is None or ((low is None or value >= low) and (high is None or value <= high)):
        return
    if high is None:
        allowed = f"at least {low}"
    else:
        allowed = f"at most {high}" if low is None else f"from {low} to {high}"
    raise ServeError(f"{name} must be {allowed}, not {value}.")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
