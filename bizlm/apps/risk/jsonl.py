"""Read a JSONL file of items: the parsed lines, and the lines that are not JSON (with why)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bizlm.apps.risk.items import Rejected


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
                values.append(json.loads(line))
                lines.append(number)
            except json.JSONDecodeError as exc:
                rejected.append(Rejected(number, None, f"line {number} is not JSON: {exc.msg}"))
    return values, lines, rejected
