"""Incoming items: check each one, keep the good ones and say why the others were rejected."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 20_000


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
    """An item that was not accepted: its position in the batch, its id (if any), and why."""

    index: int
    id: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form for answers and reports."""
        return {"index": self.index, "id": self.id, "reason": self.reason}


def parse_time(value: Any) -> float:
    """Unix seconds from an ISO 8601 string (UTC if no offset) or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"time {value!r} is neither an ISO 8601 string nor Unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"time {value!r} is not a finite number")
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"time '{value}' is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    raise ValueError("time is missing; give an ISO 8601 date-time or Unix seconds")


def _check(raw: Any) -> Item:
    if not isinstance(raw, dict):
        raise ValueError("an item must be a JSON object")
    item_id = raw.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    if not isinstance(item_id, str) or not item_id.strip():
        raise ValueError("id is missing or empty")
    if len(item_id) > MAX_ID_CHARS:
        raise ValueError(f"id is longer than {MAX_ID_CHARS} characters")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text is missing or empty")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text is longer than {MAX_TEXT_CHARS} characters")
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise ValueError("source must be a string")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata must be a JSON object")
    unknown = sorted(set(raw) - {"id", "time", "source", "text", "metadata"})
    if unknown:
        raise ValueError(f"unknown fields {unknown}; put extra fields under 'metadata'")
    return Item(item_id, parse_time(raw.get("time")), source, text, metadata)


def check_items(raws: list[Any]) -> tuple[list[Item], list[Rejected]]:
    """Split a batch into accepted items and rejected ones (with the reason for each).

    An id repeated inside the batch keeps its first occurrence; the later ones are rejected.
    """
    accepted: list[Item] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        shown_id = None if raw_id is None else str(raw_id)
        try:
            item = _check(raw)
        except ValueError as exc:
            rejected.append(Rejected(index, shown_id, str(exc)))
            continue
        if item.id in seen:
            rejected.append(Rejected(index, item.id, "id repeats an earlier item of this batch"))
            continue
        seen.add(item.id)
        accepted.append(item)
    return accepted, rejected
