"""The consoles every command prints to, and the shared ways of printing results."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


def emit_json(payload: Any) -> None:
    """Print ``payload`` as JSON (values JSON cannot hold are written as strings)."""
    out.print_json(json.dumps(payload, default=str))


def echo_json(payload: Any) -> None:
    """Print ``payload`` as plain JSON with two-space indents (no colours, for scripts)."""
    typer.echo(json.dumps(payload, indent=2, default=str))


def scores_line(metrics: dict) -> str:
    """Every number in a metrics dict on one line: ``accuracy 0.8123  macro_f1 0.7712 …``."""
    return "  ".join(
        f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )


def number(value: float | None) -> str:
    """A score with three decimals, or ``n/a``."""
    return "n/a" if value is None else f"{value:.3f}"
