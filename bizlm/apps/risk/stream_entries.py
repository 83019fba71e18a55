"""Redis stream entries as items: one item, as JSON, in the entry's ``item`` field.

A producer adds ``XADD news * item '{"id": "n1", "time": "...", "text": "..."}'``; the item is
checked exactly like one sent to ``POST /v1/risk/items``. An entry that is not an item gets
the reason, which the consumer writes to the dead-letter stream.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bizlm.apps.risk.items import Item, ItemError, TimeBounds, check_items

ITEM_FIELD = "item"
Fields = dict[bytes, bytes]


def _decoded(fields: Fields) -> dict[str, str]:
    """The entry's field names and values as text, or ItemError when one is not UTF-8."""
    decoded: dict[str, str] = {}
    for name, value in fields.items():
        try:
            decoded[name.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            shown = name.decode("utf-8", errors="replace")
            raise ItemError(f"field '{shown}' is not UTF-8 text") from None
    return decoded


def entry_item(fields: Fields, bounds: TimeBounds, now: float | None = None) -> Item:
    """The item an entry carries; ItemError (with the reason) when the entry is not one."""
    decoded = _decoded(fields)
    others = sorted(set(decoded) - {ITEM_FIELD})
    if ITEM_FIELD not in decoded:
        raise ItemError(
            f"the entry has no '{ITEM_FIELD}' field (it has {others}); add items with "
            f"XADD STREAM * {ITEM_FIELD} '<item as JSON>'"
        )
    if others:
        raise ItemError(f"unknown fields {others}; an entry has only the '{ITEM_FIELD}' field")
    try:
        raw: Any = json.loads(decoded[ITEM_FIELD])
    except json.JSONDecodeError as exc:
        raise ItemError(f"'{ITEM_FIELD}' is not JSON: {exc.msg}") from None
    accepted, rejected = check_items([raw], bounds, time.time() if now is None else now)
    if rejected:
        raise ItemError(rejected[0].reason, rejected[0].field)
    return accepted[0]


def dead_letter(entry_id: bytes, fields: Fields, error: ItemError) -> dict[str, str]:
    """The dead-letter entry for a refused entry: its id, the reason, and its fields (JSON)."""
    shown = {
        name.decode("utf-8", errors="replace"): value.decode("utf-8", errors="replace")
        for name, value in fields.items()
    }
    return {
        "entry": entry_id.decode("ascii"),
        "field": error.field or "",
        "reason": str(error),
        "fields": json.dumps(shown, ensure_ascii=False),
    }
