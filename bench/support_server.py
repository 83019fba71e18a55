"""The support desk's server in a subprocess on 127.0.0.1, and its latency as clients see it:
sequential requests to ``/v1/support/chat``, and the first streamed event of
``/v1/support/chat/stream`` with several sessions at once."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bench.service_ready import wait_until_ready


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def desk_server(project: Path, startup_seconds: float = 300) -> Iterator[str]:
    """``bizlm app support serve`` on a free port (no keys, one thread per library), once it
    answers /readyz; its base URL. Stopped on exit."""

    port = _free_port()
    arguments = [
        *("app", "support", "serve", str(project), "--no-auth", "--port", str(port)),
        *("--database", str(project / "bench-conversations.db"), "--no-access-log"),
    ]
    code = "import sys; from bizlm.cli import run; sys.exit(run(sys.argv[1:]))"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-c", code, *arguments], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(server, url, seconds=startup_seconds)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def percentiles(milliseconds: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 of a list of latencies."""
    values = np.array(milliseconds)
    return {f"p{q}_ms": float(np.percentile(values, q)) for q in (50, 95, 99)}


def sequential_latency(url: str, messages: Sequence[str], warmup: int = 10) -> dict[str, Any]:
    """Latency of ``POST /v1/support/chat``, one request at a time."""
    import httpx

    with httpx.Client(base_url=url, timeout=120) as client:
        for message in messages[:warmup]:
            client.post("/v1/support/chat", json={"message": message})
        latencies, errors = [], 0
        for message in messages:
            started = time.perf_counter()
            response = client.post("/v1/support/chat", json={"message": message})
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200
    return {"requests": len(latencies), "errors": errors, **percentiles(latencies)}


async def _session(client: Any, messages: Sequence[str], record: dict[str, list]) -> None:
    """One customer's conversation: each message streamed in turn, its first event timed."""
    session_id = None
    for message in messages:
        started = time.perf_counter()
        first = None
        events = []
        body = {"message": message, "session_id": session_id}
        async with client.stream("POST", "/v1/support/chat/stream", json=body) as response:
            if response.status_code != 200:
                record["errors"].append(response.status_code)
                continue
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                first = first if first is not None else time.perf_counter()
                events.append(line)
        done = time.perf_counter()
        last = events[-1] if events else ""
        if first is None or '"type": "reply"' not in last:
            record["errors"].append(last[:200])
            continue
        record["first"].append((first - started) * 1000)
        record["whole"].append((done - started) * 1000)
        record["deltas"].append(sum('"type": "delta"' in event for event in events))
        session_id = session_id or _session_id(last)


def _session_id(reply_event: str) -> str:
    return json.loads(reply_event[len("data: ") :])["session_id"]


def streamed_latency(url: str, messages: Sequence[str], sessions: int = 8) -> dict[str, Any]:
    """Time to the first server-sent event and to the whole reply, ``sessions`` customers at
    once, the messages dealt round-robin among them."""
    import httpx

    record: dict[str, list] = {"first": [], "whole": [], "deltas": [], "errors": []}

    async def run() -> float:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:
            started = time.perf_counter()
            shares = [messages[i::sessions] for i in range(sessions)]
            await asyncio.gather(*(_session(client, share, record) for share in shares))
            return time.perf_counter() - started

    seconds = asyncio.run(run())
    first, whole = percentiles(record["first"]), percentiles(record["whole"])
    return {
        "sessions": sessions,
        "replies": len(record["first"]),
        "errors": len(record["errors"]),
        "error_samples": [str(e) for e in record["errors"][:3]],
        "replies_with_deltas": int(sum(d > 0 for d in record["deltas"])),
        "first_event": first,
        "whole_reply": whole,
        "wall_seconds": round(seconds, 2),
    }
