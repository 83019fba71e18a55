"""Replay a historical JSONL stream in event-time order, sped up (``60x``) or as fast as possible.

An item stamped ``t`` is sent ``(t - t0) / speed`` seconds after the start, in batches of the
items that fell due since the last send; into a monitor folder (classified and alerted
in-process) or to a running service's ``POST /v1/risk/items``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.apps.risk.config import RiskError
from bizlm.apps.risk.items import TimeBounds
from bizlm.apps.risk.jsonl import read_items

MAX_BATCH = 500


def parse_speed(text: str) -> float | None:
    """``60x`` → 60.0; ``max`` → None (no waiting)."""
    if text.strip().lower() == "max":
        return None
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*x?\s*", text)
    if found is None or float(found.group(1)) <= 0:
        raise RiskError(f"--speed '{text}' is not a speed.", hint="Write e.g. 60x, 1x or max.")
    return float(found.group(1))


@dataclass
class ReplayPlan:
    """The items to send as (time, line number, value), in event-time order, and the lines that
    could not be read."""

    items: list[tuple[float, int, Any]]
    unreadable: list[dict[str, Any]]


def plan_replay(path: Path, bounds: TimeBounds) -> ReplayPlan:
    """Read a JSONL file and order its items by time; items without a usable time (unreadable
    or outside ``bounds``) go first: the receiver rejects them with the reason, so they are
    reported, not dropped, and never stretch the replay's pacing."""
    if not Path(path).is_file():
        raise RiskError(f"No file at {path}.", hint="Pass a JSONL file of items.")
    values, lines, rejected = read_items(path)
    now = time.time()
    timed: list[tuple[float, int, Any]] = []
    for value, line in zip(values, lines, strict=True):
        try:
            moment = bounds.check(value.get("time") if isinstance(value, dict) else None, now)
        except ValueError:
            moment = float("-inf")
        timed.append((moment, line, value))
    timed.sort(key=lambda entry: (entry[0], entry[1]))
    return ReplayPlan(timed, [r.as_dict() for r in rejected])


def batches(
    plan: ReplayPlan,
    speed: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[list[int], list[Any]]]:
    """Yield (line numbers, items) batches when they fall due at ``speed`` (all at once when
    None)."""
    if not plan.items:
        return
    finite = [moment for moment, _, _ in plan.items if moment != float("-inf")]
    first = finite[0] if finite else 0.0
    started = clock()
    index = 0
    while index < len(plan.items):
        due_until = float("inf") if speed is None else first + (clock() - started) * speed
        lines: list[int] = []
        batch: list[Any] = []
        while index < len(plan.items) and len(batch) < MAX_BATCH:
            moment, line, value = plan.items[index]
            if moment > due_until:
                break
            lines.append(line)
            batch.append(value)
            index += 1
        if batch:
            yield lines, batch
        elif speed is not None:
            wait = (plan.items[index][0] - first) / speed - (clock() - started)
            sleep(min(max(wait, 0.0), 1.0))
