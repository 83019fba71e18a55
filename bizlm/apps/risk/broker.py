"""Items from a Redis stream, read in a consumer group: store first, then acknowledge.

Entries are read with XREADGROUP (the group, and the stream, are created when missing), their
items stored (idempotent by item id: an entry read twice is counted once) and only then
acknowledged with XACK. An entry that is not an item is written to ``<stream>:dead`` with the
reason and acknowledged in one transaction. Entries that a consumer read but did not
acknowledge within ``claim_idle_s`` (it crashed) are taken over with XAUTOCLAIM at start and
every ``claim_every_s``. A lost connection is retried with exponential back-off, and the
consumer's own unacknowledged entries are read again once it is back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from bizlm.apps.risk.config import RiskError
from bizlm.apps.risk.items import Item, ItemError
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.stream_entries import Fields, dead_letter, entry_item

log = logging.getLogger("bizlm.apps.risk")
Entry = tuple[bytes, Fields]
FIRST_BACKOFF_S = 0.5


def default_consumer() -> str:
    """A consumer name unique to this process: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class StreamSettings:
    """Where to read (Redis URL, stream, group, consumer) and how (batch, waits, take-over)."""

    url: str
    stream: str
    group: str = "bizlm-risk"
    consumer: str = field(default_factory=default_consumer)
    batch: int = 500
    block_ms: int = 1000
    claim_idle_s: float = 60.0
    claim_every_s: float = 30.0
    max_backoff_s: float = 30.0

    @property
    def dead_stream(self) -> str:
        """The dead-letter stream for entries that are not items."""
        return f"{self.stream}:dead"


@dataclass
class BrokerStats:
    """What the consumer has done since it started."""

    read: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    acknowledged: int = 0
    reclaimed: int = 0
    reconnects: int = 0
    connected: bool = True
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def connect(settings: StreamSettings) -> redis.Redis:
    """A client for ``settings.url`` that has answered a PING; RiskError when unreachable."""
    where = f"--redis {settings.url}"
    if not settings.stream.strip():
        raise RiskError("--stream is empty.", hint="Name the stream to read, e.g. --stream news.")
    try:
        client = redis.Redis.from_url(
            settings.url,
            socket_connect_timeout=5.0,
            socket_timeout=settings.block_ms / 1000 + 10.0,
        )
    except ValueError as exc:
        raise RiskError(f"{where}: {exc}.", hint="Write e.g. redis://127.0.0.1:6379/0.") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        raise RiskError(
            f"{where}: Redis does not answer ({exc}).",
            hint="Start Redis (redis-server) or fix the URL, then run the command again.",
        ) from None
    return client


class StreamConsumer:
    """One consumer of a group that feeds a stream's items into a monitor."""

    def __init__(self, monitor: Monitor, settings: StreamSettings, client: redis.Redis) -> None:
        self.monitor = monitor
        self.settings = settings
        self.client = client
        self.stats = BrokerStats()
        self._own_pending_first = True  # after (re)connecting, re-read what we left unacked
        self._next_claim = 0.0
        self.ensure_group()

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless it exists."""
        try:
            self.client.xgroup_create(
                self.settings.stream, self.settings.group, id="0", mkstream=True
            )
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise RiskError(
                    f"--stream {self.settings.stream}: Redis refused to create the consumer "
                    f"group '{self.settings.group}' ({exc}).",
                    hint="Name a stream (or a free key) with --stream.",
                ) from None

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set, reconnecting with back-off when Redis goes away."""
        backoff = FIRST_BACKOFF_S
        while not stop.is_set():
            try:
                if not self.stats.connected:
                    self._reconnect()
                self.poll()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.stats.connected = False
                self.stats.last_error = str(exc)
                log.warning(
                    "redis %s unreachable (%s); retrying in %.1f s", self.settings.url, exc, backoff
                )
            except Exception as exc:  # keep consuming; unacknowledged entries are read again
                self.stats.last_error = repr(exc)
                log.error("redis stream %s: pass failed: %r", self.settings.stream, exc)
            else:
                backoff = FIRST_BACKOFF_S
                continue
            stop.wait(backoff)
            backoff = min(backoff * 2, self.settings.max_backoff_s)

    def _reconnect(self) -> None:
        self.client.ping()
        self.ensure_group()
        self._own_pending_first = True
        self.stats.connected = True
        self.stats.reconnects += 1
        log.info("redis %s reachable again; reading unacknowledged entries", self.settings.url)

    def poll(self) -> int:
        """One pass: take over idle entries when due, then read; returns the entries handled."""
        handled = 0
        try:
            if time.monotonic() >= self._next_claim:
                handled += self.reclaim()
                self._next_claim = time.monotonic() + self.settings.claim_every_s
            handled += self._read()
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("redis stream %s or its group is gone; creating them", self.settings.stream)
            self.ensure_group()
        except Exception:
            self._own_pending_first = True  # this pass's entries are still ours, unacknowledged
            raise
        return handled

    def _read(self) -> int:
        if self._own_pending_first:
            own = self._entries("0", block_ms=None)
            if own:
                return self.handle(own)
            self._own_pending_first = False
        return self.handle(self._entries(">", self.settings.block_ms))

    def _entries(self, start: str, block_ms: int | None) -> list[Entry]:
        """Entries from ``start``: ``0`` for this consumer's unacknowledged ones, ``>`` for new."""
        settings = self.settings
        reply = self.client.xreadgroup(
            settings.group,
            settings.consumer,
            {settings.stream: start},
            count=settings.batch,
            block=block_ms,
        )
        return reply[0][1] if reply else []

    def reclaim(self) -> int:
        """Take over and handle entries other consumers left unacknowledged too long."""
        settings = self.settings
        start: bytes | str = "0-0"
        handled = 0
        while True:
            reply = self.client.xautoclaim(
                settings.stream,
                settings.group,
                settings.consumer,
                min_idle_time=int(settings.claim_idle_s * 1000),
                start_id=start,
                count=settings.batch,
            )
            entries = [(entry_id, fields) for entry_id, fields in reply[1] if fields is not None]
            if entries:
                log.info("redis stream %s: took over %d entries", settings.stream, len(entries))
            self.stats.reclaimed += len(entries)
            handled += self.handle(entries)
            start = reply[0]
            if start in (b"0-0", "0-0"):
                return handled

    def handle(self, entries: list[Entry]) -> int:
        """Store the entries' items, dead-letter the others, then acknowledge them all."""
        if not entries:
            return 0
        bounds = self.monitor.bounds
        now = time.time()
        items: dict[str, Item] = {}
        dead: list[dict[str, str]] = []
        for entry_id, fields in entries:
            try:
                item = entry_item(fields, bounds, now)
            except ItemError as exc:
                dead.append(dead_letter(entry_id, fields, exc))
                continue
            items.setdefault(item.id, item)
        added, _ = self.monitor.store.add(list(items.values()))
        self.stats.stored += added
        self.stats.duplicates += len(entries) - len(dead) - added  # stored before, or repeated
        transaction = self.client.pipeline(transaction=True)
        for letter in dead:
            transaction.xadd(self.settings.dead_stream, letter)
        transaction.xack(self.settings.stream, self.settings.group, *[e for e, _ in entries])
        transaction.execute()
        self._count_acknowledged(len(entries), dead)
        return len(entries)

    def _count_acknowledged(self, read: int, dead: list[dict[str, str]]) -> None:
        stats = self.stats
        stats.read += read
        stats.dead_lettered += len(dead)
        stats.acknowledged += read
        if dead:
            log.warning(
                "redis stream %s: %d entries are not items, moved to %s (first: %s)",
                self.settings.stream,
                len(dead),
                self.settings.dead_stream,
                dead[0]["reason"],
            )
