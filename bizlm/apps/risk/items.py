"""Incoming items: check each one, keep the good ones and say why the others were rejected."""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import Any

MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 20_000
EARLIEST_TIME = "2000-01-01T00:00:00Z"
MAX_FUTURE = "1d"


@dataclass(frozen=True)
class Item:
    """One accepted item: an id, its event time (Unix seconds), source, text and metadata."""

    id: str
    time: float
    source: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """An item that was not accepted: its position in the batch, its id (if any), the field at
    fault (None when the whole item or line is), and why."""

    index: int
    id: str | None
    reason: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for answers and reports."""
        return {"index": self.index, "id": self.id, "field": self.field, "reason": self.reason}


class ItemError(ValueError):
    """An item is not usable; ``field`` names the part at fault (None for the whole item)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _iso(moment: float) -> str:
    stamp = dt.datetime.fromtimestamp(moment, dt.UTC).replace(microsecond=0)
    return stamp.isoformat().replace("+00:00", "Z")


def _shown(value: Any) -> str:
    """A time value as it appears in a message, cut short when huge."""
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_time(value: Any) -> float:
    """Unix seconds from an ISO 8601 string (UTC if no offset) or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"time {value!r} is neither an ISO 8601 string nor Unix seconds")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"time {_shown(value)} is too large to be Unix seconds") from None
        if not math.isfinite(seconds):
            raise ValueError(f"time {value!r} is not a finite number")
        return seconds
    if isinstance(value, str) and value.strip():
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"time {_shown(value)} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    raise ValueError("time is missing; give an ISO 8601 date-time or Unix seconds")


@dataclass(frozen=True)
class TimeBounds:
    """The event times the monitor accepts: from ``earliest`` to ``max_future_s`` after now."""

    earliest: float = 946684800.0  # EARLIEST_TIME
    max_future_s: float = 86400.0  # MAX_FUTURE

    def latest(self, now: float) -> float:
        """The newest time accepted at ``now``."""
        return now + self.max_future_s

    def check(self, value: Any, now: float) -> float:
        """The time ``value`` in Unix seconds; ValueError when unreadable or out of range."""
        moment = parse_time(value)
        shown = _shown(value)
        if moment < self.earliest:
            raise ValueError(
                f"time {shown} is before {_iso(self.earliest)}, the earliest accepted "
                "(lower earliest_time in risk.yaml to accept older items)"
            )
        latest = self.latest(now)
        if moment > latest:
            numeric = not isinstance(value, str) and moment >= 1e11
            unit = "; Unix seconds are expected, not milliseconds" if numeric else ""
            raise ValueError(
                f"time {shown} is more than {self.max_future_s / 3600:g} h ahead of now (the "
                f"latest accepted is {_iso(latest)}; raise max_future in risk.yaml to accept "
                f"later items){unit}"
            )
        return moment


def _check(raw: Any, bounds: TimeBounds, now: float) -> Item:
    if not isinstance(raw, dict):
        raise ItemError("an item must be a JSON object")
    item_id = raw.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    if not isinstance(item_id, str) or not item_id.strip():
        raise ItemError("id is missing or empty", "id")
    if len(item_id) > MAX_ID_CHARS:
        raise ItemError(f"id is longer than {MAX_ID_CHARS} characters", "id")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ItemError("text is missing or empty", "text")
    if len(text) > MAX_TEXT_CHARS:
        raise ItemError(f"text is longer than {MAX_TEXT_CHARS} characters", "text")
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise ItemError("source must be a string", "source")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ItemError("metadata must be a JSON object", "metadata")
    unknown = sorted(set(raw) - {"id", "time", "source", "text", "metadata"})
    if unknown:
        raise ItemError(f"unknown fields {unknown}; put extra fields under 'metadata'")
    try:
        moment = bounds.check(raw.get("time"), now)
    except ValueError as exc:
        raise ItemError(str(exc), "time") from None
    return Item(item_id, moment, source, text, metadata)


def check_items(
    raws: list[Any], bounds: TimeBounds, now: float | None = None
) -> tuple[list[Item], list[Rejected]]:
    """Split a batch into accepted items and rejected ones (with the field and reason for each).

    Times outside ``bounds`` (judged against ``now``, the current time by default) are rejected.
    An id repeated inside the batch keeps its first occurrence; the later ones are rejected.
    """
    now = time.time() if now is None else now
    accepted: list[Item] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        shown_id = None if raw_id is None else str(raw_id)
        try:
            item = _check(raw, bounds, now)
        except ItemError as exc:
            rejected.append(Rejected(index, shown_id, str(exc), exc.field))
            continue
        if item.id in seen:
            repeat = "id repeats an earlier item of this batch"
            rejected.append(Rejected(index, item.id, repeat, "id"))
            continue
        seen.add(item.id)
        accepted.append(item)
    return accepted, rejected
