"""Run the alert rules over the stored counts and record the new alerts.

Only closed windows are judged: a window closes once an item from a later window has arrived
(event time, so a replayed stream alerts exactly as the live one would). An alert is stored
once per rule, topic and window; a cool-down keeps a rule quiet for a topic after it fired.
Every series covers at most the ``max_windows`` most recent windows, however far apart the
stored items are, so no pass walks an unbounded range of time.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert

from bizlm.apps.risk.config import MAX_WINDOWS
from bizlm.apps.risk.detectors import WindowStat, detect_surges
from bizlm.apps.risk.rules import ALL_TOPICS, Rule
from bizlm.apps.risk.store import MAX_ROW_ID, ItemStore, WindowCount, alerts


def series_start(window_s: int, until: float, max_windows: int) -> float:
    """The start of the earliest of the ``max_windows`` windows that end by ``until``."""
    return until - max_windows * window_s


def topic_series(
    counts: Sequence[WindowCount], window_s: int, until: float, max_windows: int
) -> dict[str, list[WindowStat]]:
    """Per topic, every window from its first one up to (not including) ``until``, gaps as 0;
    at most the last ``max_windows`` windows."""
    by_topic: dict[str, dict[float, WindowCount]] = defaultdict(dict)
    for count in counts:
        by_topic[count.topic][count.window_start] = count
    series: dict[str, list[WindowStat]] = {}
    for topic, windows in by_topic.items():
        first = max(min(windows), series_start(window_s, until, max_windows))
        length = max(0, min(max_windows, math.floor((until - first) / window_s)))
        stats = []
        for start in (first + k * window_s for k in range(length)):
            found = windows.get(start)
            stats.append(
                WindowStat(start, found.count if found else 0, found.negatives if found else 0)
            )
        series[topic] = stats
    return series


def rule_alerts(
    store: ItemStore,
    rule: Rule,
    negative_label: str,
    until: float,
    max_windows: int = MAX_WINDOWS,
) -> list[dict]:
    """The alerts one rule raises on the last ``max_windows`` windows before ``until``
    (not stored)."""
    window_s = rule.window_s
    since = series_start(window_s, until, max_windows)
    counts = store.window_counts(window_s, negative_label, rule.entity, since, until)
    rows = []
    for topic, stats in topic_series(counts, window_s, until, max_windows).items():
        if rule.topic not in (ALL_TOPICS, topic):
            continue
        last_fired = None
        for surge in detect_surges(stats, rule.settings()):
            if last_fired is not None and surge.start - last_fired < rule.cooldown_s:
                continue
            last_fired = surge.start
            rows.append(
                {
                    "rule": rule.name,
                    "topic": topic,
                    "entity": rule.entity,
                    "detector": rule.detector,
                    "window_s": window_s,
                    "window_start": surge.start,
                    "count": surge.count,
                    "negatives": surge.negatives,
                    "score": round(surge.score, 4),
                }
            )
    return rows


def evaluate_rules(
    store: ItemStore, rules: Sequence[Rule], negative_label: str, max_windows: int, latest: float
) -> list[dict[str, Any]]:
    """Store the alerts of closed windows (the last ``max_windows`` of each rule) not alerted
    before; return the new ones. Items after ``latest`` (the newest time accepted) are left
    out, so one stored before the time bounds existed cannot move the watermark."""
    watermark = store.latest_time(latest)
    if watermark is None:
        return []
    found = []
    for rule in rules:
        until = (watermark // rule.window_s) * rule.window_s  # start of the open window
        found += rule_alerts(store, rule, negative_label, until, max_windows)
    new: list[dict[str, Any]] = []
    with store.engine.begin() as connection:
        for row in found:
            row["created_at"] = time.time()
            statement = insert(alerts).on_conflict_do_nothing().returning(alerts.c.id)
            inserted = connection.execute(statement, row).scalar()
            if inserted is not None:
                new.append({"id": inserted, **row, "acknowledged_at": None})
    return new


def list_alerts(store: ItemStore, limit: int = 100) -> list[dict[str, Any]]:
    """The newest alerts first."""
    query = select(alerts).order_by(alerts.c.window_start.desc(), alerts.c.id.desc()).limit(limit)
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def acknowledge(store: ItemStore, alert_id: int) -> dict[str, Any] | None:
    """Mark an alert acknowledged (once); returns it, or None if there is no such alert
    (including ids no SQLite row can have)."""
    if not 1 <= alert_id <= MAX_ROW_ID:
        return None
    with store.engine.begin() as connection:
        connection.execute(
            update(alerts)
            .where(alerts.c.id == alert_id, alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_at=time.time())
        )
        row = connection.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    return dict(row._mapping) if row is not None else None
