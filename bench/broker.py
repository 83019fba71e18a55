"""Risk monitor fed from a Redis stream: nothing lost or stored twice across crashes, and speed.

Runs of `bizlm app risk serve` (a subprocess each, its own monitor folder) take the same N
small items, HTTP and Redis in turns (3 rounds; rates pooled over them):
  * HTTP: posted 1,000 per request at full speed; items/s from the first request to the last
    answer (each answer comes after its items are stored);
  * Redis: the service runs with --redis, the items are added to the stream (XADD, pipelined
    1,000 at a time); items/s from the first XADD until every entry is acknowledged and every
    item stored;
  * Redis with crashes: as above, and the service is killed with SIGKILL twice mid-stream (at a
    third and two thirds of the items stored) and started again each time (a new consumer name,
    so the dead one's unacknowledged entries are taken over with XAUTOCLAIM). Lost = sent items
    missing from the database; duplicated = database rows beyond one per sent item.
Classification is deferred (--interval 3600, the models are tiny), so the rates are those of
delivery and storage (checks, PII masking, SQLite), which is what the transports differ in.
Run: BIZLM_HOME=... OMP_NUM_THREADS=1 python bench/broker.py [--items 100000 --rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.machine import describe_machine
from bench.service_ready import wait_until_ready
from bizlm.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "broker.json"
STREAM, GROUP, BATCH = "news", "bizlm-risk", 1000
WORDS = ["shares", "bank", "fraud", "great", "phone", "launch", "crash", "steady"]


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_items(count: int) -> list[dict[str, Any]]:
    """Small items with unique ids and times over the last ``count`` seconds."""
    now = time.time()
    return [
        {
            "id": f"item-{index}",
            "time": now - count + index,
            "source": "wire",
            "text": f"Acme {WORDS[index % 8]} {WORDS[index * 7 % 8]} on day {index % 30}",
        }
        for index in range(count)
    ]


def make_folder(root: Path, bundle: Path) -> Path:
    """A monitor folder whose topic and sentiment models are copies of ``bundle``."""
    from bizlm.apps.risk.workspace import InitOptions, init_folder

    roles = {role: root.parent / f"{root.name}-{role}" for role in ("topic", "sentiment")}
    for copy in roles.values():
        shutil.copytree(bundle, copy)
    options = InitOptions(topic_bundle=roles["topic"], sentiment_bundle=roles["sentiment"])
    return init_folder(root, options).root


def tiny_bundle(work: Path) -> Path:
    """The tests' tiny random BERT trained for one epoch (seconds): loaded, never run here."""
    from bench.probe_setup import train_bundle
    from tests.conftest import save_tiny_bert

    return train_bundle(save_tiny_bert(work / "tiny-bert"), work)


def start_redis(work: Path) -> tuple[subprocess.Popen, int]:
    """A redis-server on a free port, without persistence."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(work), "--daemonize", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(500):
        try:
            client.ping()
            return process, port
        except redis.ConnectionError:
            time.sleep(0.02)
    raise SystemExit("redis-server did not start")


def serve(folder: Path, log: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    """Start `bizlm app risk serve` on a free port; wait until it is ready."""
    port = free_port()
    command = [sys.executable, "-c", "from bizlm.cli import main; main()", "app", "risk"]
    command += ["serve", str(folder), "--no-auth", "--port", str(port), "--interval", "3600"]
    with open(log, "a") as handle:
        process = subprocess.Popen([*command, *extra], stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(process, url, log)
    return process, url


def stored_ids(folder: Path) -> list[str]:
    """Every item id in the monitor's database (one per row)."""
    with sqlite3.connect(folder / "risk.db") as connection:
        return [row[0] for row in connection.execute("SELECT id FROM items")]


def stored_count(folder: Path) -> int:
    """Rows in the monitor's items table."""
    with sqlite3.connect(folder / "risk.db") as connection:
        return connection.execute("SELECT count(*) FROM items").fetchone()[0]


def http_run(folder: Path, items: list[dict[str, Any]], log: Path) -> float:
    """Items/s posted through the ingest API."""
    process, url = serve(folder, log, [])
    try:
        started = time.perf_counter()
        with httpx.Client(timeout=120) as client:
            for start in range(0, len(items), BATCH):
                batch = items[start : start + BATCH]
                client.post(url + "/v1/risk/items", json={"items": batch}).raise_for_status()
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)
    assert stored_count(folder) == len(items), "the HTTP run did not store every item"
    return len(items) / elapsed


def publish(port: int, items: list[dict[str, Any]]) -> None:
    """XADD every item, 1,000 per pipeline."""
    client = redis.Redis(port=port)
    for start in range(0, len(items), BATCH):
        pipe = client.pipeline(transaction=False)
        for item in items[start : start + BATCH]:
            pipe.xadd(STREAM, {"item": json.dumps(item)})
        pipe.execute()


def drained(port: int) -> bool:
    """Whether the group has read and acknowledged every entry of the stream."""
    groups = redis.Redis(port=port).xinfo_groups(STREAM)
    return bool(groups) and groups[0]["pending"] == 0 and groups[0]["lag"] == 0


def redis_run(folder: Path, items: list[dict[str, Any]], port: int, kills: int, log: Path) -> dict:
    """Feed the items through the stream, killing the service ``kills`` times mid-stream."""
    extra = ["--redis", f"redis://127.0.0.1:{port}/0", "--stream", STREAM, "--claim-idle", "2s"]
    process, url = serve(folder, log, extra)
    killed: list[int] = []
    try:
        started = time.perf_counter()
        publish(port, items)
        deadline = time.monotonic() + 1800
        while not (drained(port) and stored_count(folder) >= len(items)):
            if time.monotonic() > deadline:
                break
            stored = stored_count(folder)
            if len(killed) < kills and stored >= len(items) * (len(killed) + 1) / (kills + 1):
                process.send_signal(signal.SIGKILL)
                process.wait(30)
                killed.append(stored)
                process, url = serve(folder, log, extra)
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        broker = httpx.get(url + "/v1/risk/status", timeout=30).json()["broker"]
    finally:
        process.terminate()
        process.wait(30)
    rows = stored_ids(folder)
    sent = {item["id"] for item in items}
    found = sent & set(rows)
    return {
        "items_per_s": round(len(items) / elapsed, 1),
        "seconds": round(elapsed, 1),
        "killed_at_stored": killed,
        "lost": len(sent - found),
        "duplicated": len(rows) - len(found),
        "last_consumer": broker,
    }


def pooled(rates: list[float]) -> float:
    """Items/s over all rounds together (each round sent the same number of items)."""
    return len(rates) / sum(1 / rate for rate in rates)


def main() -> None:
    """Run the rounds and the crash run; write bench/results/broker.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="HTTP and Redis runs, in turns")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    bundle = tiny_bundle(work)
    items = make_items(args.items)
    log = work / "serve.log"
    redis_process, port = start_redis(work)
    http_rates: list[float] = []
    redis_rates: list[float] = []
    try:
        for turn in range(args.rounds):
            http_rates.append(http_run(make_folder(work / f"http-{turn}", bundle), items, log))
            redis.Redis(port=port).delete(STREAM)
            clean = redis_run(make_folder(work / f"redis-{turn}", bundle), items, port, 0, log)
            assert clean["lost"] == clean["duplicated"] == 0, clean
            redis_rates.append(clean["items_per_s"])
        redis.Redis(port=port).delete(STREAM)
        crashed = redis_run(make_folder(work / "crash", bundle), items, port, 2, log)
    finally:
        redis_process.terminate()
        redis_process.wait(30)
    server_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[2]
    result = {
        "items": args.items,
        "broker_items_lost": crashed["lost"],
        "broker_items_duplicated": crashed["duplicated"],
        "broker_vs_http_ratio": round(pooled(redis_rates) / pooled(http_rates), 3),
        "http_items_per_s": round(pooled(http_rates), 1),
        "redis_items_per_s": round(pooled(redis_rates), 1),
        "rounds": {
            "http_items_per_s": [round(rate, 1) for rate in http_rates],
            "redis_items_per_s": redis_rates,
            "ratios": [round(r / h, 3) for r, h in zip(redis_rates, http_rates, strict=True)],
        },
        "redis_with_kills": crashed,
        "setup": "each run: `bizlm app risk serve` subprocess, --interval 3600 (classification "
        "deferred: delivery, checks, PII masking and SQLite only), one torch thread; HTTP: "
        "1,000 items per request; Redis: pipelined XADD of 1,000, consumer batches of 500, "
        "--claim-idle 2s; HTTP and Redis runs take turns, rates pooled over the rounds; the "
        "crash run is killed with SIGKILL twice and restarted",
        "redis": {"server": server_version, "client": redis.__version__},
        "machine": describe_machine(),
    }
    for key in ("broker_items_lost", "broker_items_duplicated", "broker_vs_http_ratio"):
        print(f"{key:<28}{result[key]!s:>12}")
    atomic_write_text(RESULTS, json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
