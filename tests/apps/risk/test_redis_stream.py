"""The Redis stream consumer against a real redis-server: store, then acknowledge; share a group,
take over a crashed consumer's entries, dead-letter what is not an item, survive a restart."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bizlm.apps.risk.broker import StreamConsumer, StreamSettings, connect
from bizlm.apps.risk.monitor import Monitor
from tests.apps.risk.conftest import stream


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server subprocess on 127.0.0.1; ``persist`` keeps data over a restart (AOF)."""

    def __init__(self, folder: Path, persist: bool = False) -> None:
        assert shutil.which("redis-server"), "redis-server is missing: run `make redis-server`"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        durability = ["--appendonly", "yes", "--appendfsync", "always"] if persist else []
        self.command = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            *durability,
            "--dir", str(folder),
            "--daemonize", "no",
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(tmp_path)
    running.start()
    yield running
    running.stop()


def settings(server: RedisServer, consumer: str = "c1", **changes) -> StreamSettings:
    return StreamSettings(server.url, "news", "risk", consumer, batch=10, block_ms=50, **changes)


def open_consumer(monitor: Monitor, server: RedisServer, **changes) -> StreamConsumer:
    chosen = settings(server, **changes)
    return StreamConsumer(monitor, chosen, connect(chosen))


def publish(server: RedisServer, items: list[dict]) -> list[bytes]:
    client = redis.Redis(port=server.port)
    return [client.xadd("news", {"item": json.dumps(item)}) for item in items]


def pending(server: RedisServer) -> int:
    return redis.Redis(port=server.port).xpending("news", "risk")["pending"]


def stored_ids(monitor: Monitor) -> list[str]:
    return sorted(row["id"] for row in monitor.store.latest(10_000))


def drain(*consumers: StreamConsumer) -> None:
    """Poll the consumers in turn until none finds anything more."""
    while sum(consumer.poll() for consumer in consumers):
        pass


def test_items_are_stored_then_acknowledged(server: RedisServer, monitor: Monitor):
    items = stream(2, 10, {})
    consumer = open_consumer(monitor, server)
    publish(server, items)
    pending_once_stored: list[int] = []
    add = monitor.store.add

    def add_then_look(batch):
        answer = add(batch)
        pending_once_stored.append(pending(server))
        return answer

    monitor.store.add = add_then_look
    drain(consumer)
    assert pending_once_stored == [10, 10]  # each batch of 10 still unacknowledged
    assert stored_ids(monitor) == sorted(item["id"] for item in items)
    assert pending(server) == 0
    assert (consumer.stats.read, consumer.stats.stored, consumer.stats.acknowledged) == (20, 20, 20)
    monitor.step()
    assert monitor.store.counts_by_status()["done"] == 20


def test_a_failed_store_leaves_the_entries_unacknowledged_for_a_retry(
    server: RedisServer, monitor: Monitor
):
    consumer = open_consumer(monitor, server)
    publish(server, stream(1, 5, {}))
    add = monitor.store.add

    def broken(batch):
        raise OSError("disk full")

    monitor.store.add = broken
    with pytest.raises(OSError, match="disk full"):
        consumer.poll()
    assert pending(server) == 5 and consumer.stats.acknowledged == 0
    monitor.store.add = add
    drain(consumer)  # its own unacknowledged entries come first
    assert len(stored_ids(monitor)) == 5 and pending(server) == 0
    assert consumer.stats.reclaimed == 0 and consumer.stats.acknowledged == 5


def test_two_consumers_of_a_group_split_the_items_and_none_is_stored_twice(
    server: RedisServer, monitor: Monitor
):
    items = stream(5, 10, {})
    first, second = (open_consumer(monitor, server, consumer=name) for name in ("a", "b"))
    publish(server, items)
    drain(first, second)
    assert first.stats.read > 0 and second.stats.read > 0
    assert first.stats.read + second.stats.read == 50
    assert first.stats.stored + second.stats.stored == 50
    assert first.stats.duplicates + second.stats.duplicates == 0
    assert stored_ids(monitor) == sorted(item["id"] for item in items)


def test_a_crashed_consumers_entries_are_taken_over_once(server: RedisServer, monitor: Monitor):
    items = stream(3, 10, {})
    publish(server, items)
    crashed = redis.Redis(port=server.port)
    crashed.xgroup_create("news", "risk", id="0")
    taken = crashed.xreadgroup("risk", "crashed", {"news": ">"}, count=12)[0][1]
    busy = open_consumer(monitor, server, consumer="busy", claim_idle_s=3600)
    drain(busy)  # the entries are not idle long enough to be taken over
    assert busy.stats.read == 18 and busy.stats.reclaimed == 0 and pending(server) == 12
    time.sleep(0.3)
    survivor = open_consumer(monitor, server, consumer="survivor", claim_idle_s=0.2)
    drain(survivor)
    assert survivor.stats.reclaimed == len(taken) == 12
    assert pending(server) == 0
    assert stored_ids(monitor) == sorted(item["id"] for item in items)
    assert busy.stats.stored + survivor.stats.stored == 30
    assert survivor.stats.duplicates == 0


def test_a_restarted_consumer_first_reads_what_it_left_unacknowledged(
    server: RedisServer, monitor: Monitor
):
    items = stream(1, 8, {})
    publish(server, items)
    before_crash = redis.Redis(port=server.port)
    before_crash.xgroup_create("news", "risk", id="0")
    before_crash.xreadgroup("risk", "c1", {"news": ">"}, count=5)  # read, then killed
    restarted = open_consumer(monitor, server, consumer="c1", claim_idle_s=3600)
    assert restarted.poll() == 5  # its own 5 entries, before any new one
    drain(restarted)
    assert restarted.stats.reclaimed == 0 and pending(server) == 0
    assert stored_ids(monitor) == sorted(item["id"] for item in items)


def test_an_entry_that_is_not_an_item_goes_to_the_dead_letter_stream(
    server: RedisServer, monitor: Monitor
):
    consumer = open_consumer(monitor, server)
    client = redis.Redis(port=server.port)
    good = stream(1, 2, {})
    publish(server, good)
    bad = [
        {"item": "not json"},
        {"text": "bank fraud"},
        {"item": json.dumps({"id": "x", "time": "soon", "text": "bank"})},
        {"item": b"\xff"},
        {"item": json.dumps(good[0]), "extra": "1"},
    ]
    bad_ids = [client.xadd("news", fields) for fields in bad]
    publish(server, [good[0]])  # sent again: a duplicate, not an error
    drain(consumer)
    letters = client.xrange("news:dead")
    reasons = [fields[b"reason"].decode() for _, fields in letters]
    assert [fields[b"entry"] for _, fields in letters] == bad_ids
    assert reasons == [
        "'item' is not JSON: Expecting value",
        "the entry has no 'item' field (it has ['text']); add items with "
        "XADD STREAM * item '<item as JSON>'",
        "time 'soon' is not an ISO 8601 date-time",
        "field 'item' is not UTF-8 text",
        "unknown fields ['extra']; an entry has only the 'item' field",
    ]
    assert json.loads(letters[1][1][b"fields"]) == {"text": "bank fraud"}
    assert letters[2][1][b"field"] == b"time"
    stats = consumer.stats
    assert (stats.read, stats.stored, stats.duplicates, stats.dead_lettered) == (8, 2, 1, 5)
    assert pending(server) == 0
    assert stored_ids(monitor) == sorted(item["id"] for item in good)


def test_redis_down_at_start_is_a_clear_error(monitor: Monitor):
    from bizlm.apps.risk.config import RiskError

    down = StreamSettings(f"redis://127.0.0.1:{free_port()}/0", "news")
    with pytest.raises(RiskError, match="Redis does not answer") as raised:
        connect(down)
    assert "Start Redis" in str(raised.value)
    with pytest.raises(RiskError, match="redis://"):
        connect(StreamSettings("http://127.0.0.1:1/0", "news"))
    with pytest.raises(RiskError, match="--stream is empty"):
        connect(StreamSettings("redis://127.0.0.1:1/0", " "))


def test_a_key_that_is_not_a_stream_is_a_clear_error(server: RedisServer, monitor: Monitor):
    from bizlm.apps.risk.config import RiskError

    redis.Redis(port=server.port).set("news", "a string")
    with pytest.raises(RiskError, match="refused to create the consumer group 'risk'"):
        open_consumer(monitor, server)


def test_the_consumer_reconnects_after_a_restart_and_loses_nothing(
    tmp_path: Path, monitor: Monitor, caplog: pytest.LogCaptureFixture
):
    server = RedisServer(tmp_path, persist=True)
    server.start()
    consumer = open_consumer(monitor, server)
    first, later = stream(1, 5, {}), stream(1, 5, {}, topic_word="phone")
    publish(server, first)
    add = monitor.store.add

    lost: list[bool] = []

    def store_then_lose_redis(batch):
        answer = add(batch)
        if not lost:
            lost.append(True)
            server.stop()  # stored, but Redis goes before the acknowledgement
        return answer

    monitor.store.add = store_then_lose_redis
    stop = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stop,))
    try:
        worker.start()
        deadline = time.monotonic() + 10
        while consumer.stats.connected:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.start()
        publish(server, later)
        while pending(server) or len(stored_ids(monitor)) < 10:
            assert time.monotonic() < deadline + 10, consumer.stats
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)
        server.stop()
    assert consumer.stats.reconnects >= 1
    assert stored_ids(monitor) == sorted(item["id"] for item in first + later)
    assert consumer.stats.stored == 10 and consumer.stats.duplicates == 5  # read again once
    assert "unreachable" in caplog.text and "retrying in" in caplog.text
