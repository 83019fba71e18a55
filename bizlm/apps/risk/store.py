"""The monitor's SQLite database: items (masked), their labels, alerts and the webhook outbox.

Items are keyed by their id, so a batch sent twice is stored once. An item waits as
``pending`` until classified (``done``); one whose classification fails becomes ``failed`` with
its error and is retried until it succeeds or runs out of attempts — it is never deleted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert

from bizlm.apps.risk.items import Item
from bizlm.pii import mask
from bizlm.private_files import ensure_private_file

PENDING, DONE, FAILED = "pending", "done", "failed"
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: no row can have a larger id
metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("time", Float, nullable=False, index=True),
    Column("source", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("failed_at", Float),
    Column("topic", String(100)),
    Column("topic_score", Float),
    Column("sentiment", String(100)),
    Column("sentiment_score", Float),
    Column("entities", JSON),
    Column("ingested_at", Float, nullable=False),
)
item_entities = Table(
    "item_entities",
    metadata,
    Column("item_id", String(200), nullable=False, index=True),
    Column("entity", String(200), nullable=False),
    Index("entity_lookup", "entity", "item_id"),
)
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule", String(100), nullable=False),
    Column("topic", String(100), nullable=False),
    Column("entity", String(200)),
    Column("detector", String(20), nullable=False),
    Column("window_s", Integer, nullable=False),
    Column("window_start", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("negatives", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("acknowledged_at", Float),
    UniqueConstraint("rule", "topic", "window_start"),
)
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text),
    Column("delivered_at", Float),
)


@dataclass(frozen=True)
class Labels:
    """What the models said about one item."""

    topic: str
    topic_score: float
    sentiment: str
    sentiment_score: float
    entities: list[str]


@dataclass(frozen=True)
class WindowCount:
    """Classified items of one topic in one window, and how many were negative."""

    topic: str
    window_start: float
    count: int
    negatives: int


def open_engine(path: Path) -> Engine:
    """An engine on a SQLite file (WAL, waits on locks), with the tables created."""
    ensure_private_file(path)  # customer texts: 0600 (SQLite's journal files follow) before use
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 10000")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")
        dbapi_connection.execute("PRAGMA synchronous = NORMAL")

    metadata.create_all(engine)
    return engine


def _count_attempts(connection: Connection, changes: dict[str, dict[str, Any]]) -> None:
    """Apply each item's changes and count one more classification attempt."""
    for item_id, values in changes.items():
        connection.execute(
            update(items)
            .where(items.c.id == item_id)
            .values(attempts=items.c.attempts + 1, **values)
        )


def _classified(entity: str | None) -> list[Any]:
    conditions: list[Any] = [items.c.status == DONE]  # classified, naming ``entity`` if given
    if entity is not None:
        tagged = select(item_entities.c.item_id).where(item_entities.c.entity == entity.lower())
        conditions.append(items.c.id.in_(tagged))
    return conditions


class ItemStore:
    """Items and their labels in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.engine = open_engine(path)

    def add(self, batch: Sequence[Item]) -> tuple[int, int]:
        """Store new items (texts masked) as pending; returns (added, already stored)."""
        if not batch:
            return 0, 0
        moment = time.time()
        rows = [
            {
                "id": item.id,
                "time": item.time,
                "source": item.source,
                "text": mask(item.text),
                "meta": item.metadata,
                "status": PENDING,
                "attempts": 0,
                "ingested_at": moment,
            }
            for item in batch
        ]
        with self.engine.begin() as connection:
            result = connection.execute(insert(items).on_conflict_do_nothing(), rows)
        added = max(result.rowcount, 0)
        return added, len(batch) - added

    def due(
        self, limit: int, max_attempts: int, retry_after_s: float = 0.0
    ) -> list[tuple[str, str]]:
        """(id, text) of pending items, then failed ones with attempts left whose last failure
        is at least ``retry_after_s`` old; oldest first."""
        retry = and_(
            items.c.status == FAILED,
            items.c.attempts < max_attempts,
            items.c.failed_at <= time.time() - retry_after_s,
        )
        query = (
            select(items.c.id, items.c.text)
            .where(or_(items.c.status == PENDING, retry))
            .order_by(case((items.c.status == PENDING, 0), else_=1), items.c.time)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [(row.id, row.text) for row in connection.execute(query)]

    def save_labels(self, labelled: dict[str, Labels]) -> None:
        """Mark items classified, with their labels and entities."""
        if not labelled:
            return
        changes = {
            item_id: {
                "status": DONE,
                "error": None,
                "topic": labels.topic,
                "topic_score": labels.topic_score,
                "sentiment": labels.sentiment,
                "sentiment_score": labels.sentiment_score,
                "entities": labels.entities,
            }
            for item_id, labels in labelled.items()
        }
        with self.engine.begin() as connection:
            _count_attempts(connection, changes)
            entity_rows = [
                {"item_id": item_id, "entity": entity.lower()}
                for item_id, labels in labelled.items()
                for entity in dict.fromkeys(labels.entities)
            ]
            if entity_rows:
                connection.execute(item_entities.insert(), entity_rows)

    def save_failures(self, errors: dict[str, str]) -> None:
        """Keep items whose classification failed, with the error, for a later retry."""
        moment = time.time()
        changes = {
            item_id: {"status": FAILED, "error": error[:2000], "failed_at": moment}
            for item_id, error in errors.items()
        }
        with self.engine.begin() as connection:
            _count_attempts(connection, changes)

    def counts_by_status(self) -> dict[str, int]:
        """How many items are pending, done and failed."""
        query = select(items.c.status, func.count()).group_by(items.c.status)
        with self.engine.connect() as connection:
            found = {status: count for status, count in connection.execute(query)}
        return {status: found.get(status, 0) for status in (PENDING, DONE, FAILED)}

    def latest_time(self, until: float = math.inf) -> float | None:
        """The newest event time among stored items up to ``until`` (the stream's watermark)."""
        query = select(func.max(items.c.time)).where(items.c.time <= until)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def latest(self, limit: int, status: str | None = None) -> list[dict[str, Any]]:
        """The newest items (by event time), optionally of one status."""
        query = select(items).order_by(items.c.time.desc(), items.c.id).limit(limit)
        if status is not None:
            query = query.where(items.c.status == status)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def window_counts(
        self,
        window_s: int,
        negative_label: str,
        entity: str | None = None,
        since: float = 0.0,
        until: float = math.inf,
    ) -> list[WindowCount]:
        """Classified items per topic and window (aligned to the Unix epoch), with negatives,
        for the windows from ``since`` to ``until`` (window starts)."""
        bucket = cast(items.c.time / window_s, Integer).label("bucket")
        negative = func.sum(case((items.c.sentiment == negative_label, 1), else_=0))
        query = (
            select(items.c.topic, bucket, func.count().label("n"), negative.label("neg"))
            .where(*_classified(entity), items.c.time >= since, items.c.time < until)
            .group_by(items.c.topic, bucket)
            .order_by(items.c.topic, bucket)
        )
        with self.engine.connect() as connection:
            return [
                WindowCount(row.topic, float(row.bucket * window_s), row.n, int(row.neg or 0))
                for row in connection.execute(query)
            ]

    def classified_before(self, moment: float, entity: str | None = None) -> bool:
        """Whether a classified item (naming ``entity``, when given) is older than ``moment``."""
        query = select(items.c.id).where(*_classified(entity), items.c.time < moment).limit(1)
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
