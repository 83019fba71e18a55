"""Read an interactions file and an items file into arrays, counting every row not used.

Interactions naming an item that the items file lacks, rows with a blank field, events below
the positive threshold and repeated (user, item) events are counted in ``report`` (and logged);
a repeated pair keeps its latest time. A file that cannot be used at all raises DataError.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.recommend.config import RecommendData
from bizlm.data.columns import require_column
from bizlm.data.readers import read_table
from bizlm.errors import DataError

logger = logging.getLogger(__name__)
_EXAMPLES_SHOWN = 5


@dataclass
class InteractionData:
    """Users, items with their texts, and positive events sorted by user, then time."""

    user_ids: list[str]
    item_ids: list[str]
    item_texts: list[str]
    users: np.ndarray  # per event: index into user_ids
    items: np.ndarray  # per event: index into item_ids
    times: np.ndarray  # per event: seconds
    report: dict[str, Any] = field(default_factory=dict)

    def item_index(self) -> dict[str, int]:
        """Item id to its index."""
        return {item: i for i, item in enumerate(self.item_ids)}

    def user_index(self) -> dict[str, int]:
        """User id to its index."""
        return {user: i for i, user in enumerate(self.user_ids)}


def read_items(path: Path, config: RecommendData) -> tuple[list[str], list[str], dict[str, Any]]:
    """Item ids and texts (the text fields joined with ". "), and what was skipped."""
    table = read_table(path, encoding=config.encoding)
    require_column(table, config.item_column, "item")
    text_columns = config.text_columns or [c for c in table.columns if c != config.item_column]
    for column in text_columns:
        require_column(table, column, "item text")
    ids: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    report = {"rows": len(table.rows), "duplicate_ids": 0, "missing_id": 0, "without_text": 0}
    for row in table.rows:
        item = _cell(row.get(config.item_column))
        if item is None:
            report["missing_id"] += 1
            continue
        if item in seen:
            report["duplicate_ids"] += 1
            continue
        seen.add(item)
        parts = [value for value in (_cell(row.get(c)) for c in text_columns) if value]
        if not parts:
            report["without_text"] += 1
        ids.append(item)
        texts.append(". ".join(parts) or f"item {item}")
    if not ids:
        raise DataError(
            f"{path} has no item with an id in column '{config.item_column}'.",
            hint="Check data.item_column in the recipe.",
        )
    return ids, texts, report


def read_interactions(config: RecommendData) -> InteractionData:
    """Read both files named in the recipe's data section (paths already resolved)."""
    item_ids, item_texts, items_report = read_items(config.items, config)
    item_of = {item: i for i, item in enumerate(item_ids)}
    table = read_table(config.interactions, encoding=config.encoding)
    for column, role in _needed_columns(config):
        require_column(table, column, role)
    unknown: dict[str, int] = {}
    counts = {"rows": len(table.rows), "missing_value": 0, "below_min_event_value": 0}
    latest: dict[tuple[str, int], float] = {}
    duplicates = 0
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        user = _cell(row.get(config.user_column))
        item = _cell(row.get(config.item_column))
        when = _cell(row.get(config.time_column))
        if user is None or item is None or when is None:
            counts["missing_value"] += 1
            continue
        if item not in item_of:
            unknown[item] = unknown.get(item, 0) + 1
            continue
        if not _is_positive(row, config, table.source, line):
            counts["below_min_event_value"] += 1
            continue
        key = (user, item_of[item])
        seconds = parse_time(when, table.source, line, config.time_column)
        if key in latest:
            duplicates += 1
        latest[key] = max(seconds, latest.get(key, -math.inf))
    report = {
        **counts,
        "unknown_items": {
            "rows": sum(unknown.values()),
            "examples": sorted(unknown)[:_EXAMPLES_SHOWN],
        },
        "duplicate_events": duplicates,
        "events": len(latest),
        "items": items_report,
    }
    if not latest:
        raise DataError(
            f"{table.source} has no usable interaction: {_describe_dropped(report)}.",
            hint="Check the column names in the recipe and that item ids match the items file.",
        )
    data = _to_arrays(latest, item_ids, item_texts, report)
    for message in describe_report(report):
        logger.warning(message)
    return data


def _needed_columns(config: RecommendData) -> list[tuple[str, str]]:
    needed = [(config.user_column, "user"), (config.item_column, "item")]
    needed.append((config.time_column, "time"))
    if config.event_column is not None:
        needed.append((config.event_column, "event"))
    return needed


def _is_positive(row: dict[str, Any], config: RecommendData, source: str, line: int) -> bool:
    if config.event_column is None or config.min_event_value is None:
        return True
    value = _cell(row.get(config.event_column))
    try:
        return value is not None and float(value) >= config.min_event_value
    except ValueError:
        raise DataError(
            f"{source} line {line}: '{config.event_column}' is {value!r}, not a number.",
            hint="data.min_event_value needs a numeric event column; fix the value or unset it.",
        ) from None


def parse_time(value: str, source: str, line: int, column: str) -> float:
    """Seconds from epoch seconds or an ISO 8601 date/time; anything else is a DataError."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise DataError(
            f"{source} line {line}: '{column}' is {value!r}, not a time.",
            hint="Give epoch seconds or an ISO date such as 2024-05-01T12:00:00.",
        ) from None


def _to_arrays(
    latest: dict[tuple[str, int], float],
    item_ids: list[str],
    item_texts: list[str],
    report: dict[str, Any],
) -> InteractionData:
    user_ids = sorted({user for user, _ in latest})
    user_of = {user: i for i, user in enumerate(user_ids)}
    keys = list(latest)
    users = np.array([user_of[user] for user, _ in keys], dtype=np.int64)
    items = np.array([item for _, item in keys], dtype=np.int64)
    times = np.array([latest[key] for key in keys], dtype=np.float64)
    order = np.lexsort((items, times, users))  # by user, then time (ties: item index)
    report["users"] = len(user_ids)
    return InteractionData(
        user_ids, item_ids, item_texts, users[order], items[order], times[order], report
    )


def describe_report(report: dict[str, Any]) -> list[str]:
    """One sentence per kind of row that was not used as it was given."""
    messages = []
    unknown = report["unknown_items"]
    if unknown["rows"]:
        shown = ", ".join(unknown["examples"])
        messages.append(
            f"{unknown['rows']} interactions name items missing from the items file "
            f"(e.g. {shown}); they were left out."
        )
    if report["duplicate_events"]:
        messages.append(
            f"{report['duplicate_events']} repeated (user, item) events were merged into one "
            "(the latest time is kept)."
        )
    if report["missing_value"]:
        messages.append(f"{report['missing_value']} interactions with a blank field were skipped.")
    if report["below_min_event_value"]:
        messages.append(
            f"{report['below_min_event_value']} events below data.min_event_value are not "
            "positives and were left out."
        )
    items = report["items"]
    if items["duplicate_ids"] or items["missing_id"]:
        messages.append(
            f"Items file: {items['duplicate_ids']} repeated ids (first kept) and "
            f"{items['missing_id']} rows without an id were skipped."
        )
    if items["without_text"]:
        messages.append(f"{items['without_text']} items have no text; their id stands in.")
    return messages


def _describe_dropped(report: dict[str, Any]) -> str:
    return (
        f"{report['unknown_items']['rows']} name unknown items, {report['missing_value']} "
        f"have a blank field, {report['below_min_event_value']} are below min_event_value"
    )


def _cell(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None
