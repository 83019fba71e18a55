"""A small closed-loop HTTP load generator: N clients on keep-alive connections, bounded in time.

Plain asyncio streams and hand-written HTTP/1.1 keep the generator's own CPU use low, which
matters when it shares two cores with the server it measures. Loopback addresses only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import cycle
from typing import Any

import numpy as np

MAX_REQUESTS_PER_CLIENT = 1_000_000  # a hard bound on top of the time limit


@dataclass
class LoadResult:
    """What one load run saw."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0

    @classmethod
    def pooled(cls, results: list[LoadResult]) -> LoadResult:
        """One result holding every request of ``results``, over their summed seconds."""
        pooled = cls(seconds=sum(r.seconds for r in results))
        for result in results:
            pooled.latencies.extend(result.latencies)
            pooled.statuses.update(result.statuses)
            pooled.failures += result.failures
        return pooled

    @property
    def errors(self) -> int:
        """Requests that did not get a 200 (including connection failures)."""
        return self.failures + sum(n for status, n in self.statuses.items() if status != 200)

    def summary(self) -> dict[str, Any]:
        """Throughput, latency percentiles (ms) and error counts."""
        latencies = np.array(self.latencies or [float("nan")]) * 1000
        return {
            "requests": len(self.latencies),
            "seconds": round(self.seconds, 3),
            "throughput_rps": len(self.latencies) / self.seconds,
            "p50_ms": float(np.percentile(latencies, 50)),
            "p95_ms": float(np.percentile(latencies, 95)),
            "p99_ms": float(np.percentile(latencies, 99)),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def _request(host: str, port: int, path: str, text: str) -> bytes:
    body = json.dumps({"text": text}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _client(
    host: str, port: int, requests: list[bytes], deadline: float, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for count, request in enumerate(cycle(requests)):
            if time.perf_counter() >= deadline or count >= MAX_REQUESTS_PER_CLIENT:
                break
            started = time.perf_counter()
            try:
                writer.write(request)
                status = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                result.failures += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] += 1
    finally:
        writer.close()


async def _run(
    host: str, port: int, path: str, texts: list[str], clients: int, seconds: float
) -> LoadResult:
    result = LoadResult(seconds=seconds)
    started = time.perf_counter()
    deadline = started + seconds
    tasks = []
    for index in range(clients):
        # each client walks the texts from its own offset, so concurrent batches mix lengths
        offset = index * len(texts) // clients
        requests = [_request(host, port, path, t) for t in texts[offset:] + texts[:offset]]
        tasks.append(_client(host, port, requests, deadline, result))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    return result


def run_load(port: int, model: str, texts: list[str], clients: int, seconds: float) -> LoadResult:
    """``clients`` concurrent clients, each sending one text per request for ``seconds``."""
    host = "127.0.0.1"
    return asyncio.run(_run(host, port, f"/v1/models/{model}/predict", texts, clients, seconds))
