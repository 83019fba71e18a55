"""Read a JSONL file of items: the parsed lines, and the lines that are not JSON (with why)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bizlm.apps.risk.items import Rejected


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_items(path: Path) -> tuple[list[Any], list[int], list[Rejected]]:
    """(values, their 1-based line numbers, rejected unparseable lines); blank lines skipped.

    A rejected line's ``index`` is its line number.
    """
    values: list[Any] = []
    lines: list[int] = []
    rejected: list[Rejected] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                values.append(json.loads(line, parse_constant=_refuse_constant))
                lines.append(number)
            except json.JSONDecodeError as exc:
                rejected.append(Rejected(number, None, f"line {number} is not JSON: {exc.msg}"))
            except ValueError as exc:  # NaN/Infinity, or an integer too long to read
                rejected.append(Rejected(number, None, f"line {number} is not JSON: {exc}"))
    return values, lines, rejected


def at_lines(rejected: Iterable[Rejected], lines: Sequence[int]) -> list[Rejected]:
    """Rejected items of a batch, renumbered to the file lines (``lines``) the batch came from."""
    return [
        Rejected(lines[item.index], item.id, f"line {lines[item.index]}: {item.reason}", item.field)
        for item in rejected
    ]
