"""HTTP helpers for the probe: timed requests against a service, raw-socket header attacks."""

from __future__ import annotations

import contextlib
import re
import select
import socket
import time
from collections.abc import Callable

import httpx

from bench.probe_services import Service
from bench.probe_verdict import Outcome

# an action answers (matched, what it got, every HTTP status it received)
Action = Callable[[], tuple[bool, str, list[int]]]


def http_case(
    service: Service, case: str, expected: str, action: Action, limit_s: float
) -> Outcome:
    """Run ``action`` against ``service``; keep what the server logged meanwhile."""
    mark = service.log_size()
    started = time.perf_counter()
    timed_out = False
    try:
        matched, got, statuses = action()
    except httpx.TimeoutException as exc:
        matched, got, statuses, timed_out = False, f"no answer ({type(exc).__name__})", [], True
    except (httpx.HTTPError, OSError) as exc:
        matched, got, statuses = False, f"connection failed: {exc!r}", []
    seconds = time.perf_counter() - started
    time.sleep(0.3)  # let the server write its log lines
    if not service.alive():
        got += " (the server died)"
        matched = False
    output = service.log_since(mark)
    return Outcome(case, expected, got, matched, statuses, output, seconds, limit_s, timed_out)


def status_in(answer: httpx.Response, allowed: set[int] | range) -> tuple[bool, str, list[int]]:
    """An action result: does the answer's status fall in ``allowed``; status and error code."""
    detail = ""
    try:
        body = answer.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            detail = f" {body['error'].get('code', '')}: {body['error'].get('message', '')}"
    except ValueError:
        detail = f" {answer.text[:80]!r}" if answer.status_code >= 400 else ""
    return answer.status_code in allowed, f"{answer.status_code}{detail}", [answer.status_code]


def _status_line(data: bytes) -> int | None:
    found = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(found.group(1)) if found else None


def huge_header(port: int, total: int, limit_s: float) -> tuple[int | None, int, str]:
    """Stream a ``total``-byte header to /healthz; stop once the server answers or closes.

    Returns the status (None without one), the header bytes sent, and how the stream ended.
    """
    block = b"a" * (1 << 20)
    sent = 0
    ended = "sent it all"
    deadline = time.monotonic() + limit_s
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                ended = "the server answered"
                break
            if time.monotonic() > deadline:
                ended = "the time limit passed"
                break
            try:
                sock.sendall(block)
            except TimeoutError:
                ended = "the server stopped reading"
                break
            except OSError:
                ended = "the server closed the connection"
                break
            sent += len(block)
        else:
            with contextlib.suppress(OSError):
                sock.sendall(b"\r\n\r\n")
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            status = _status_line(sock.recv(4096))
        except OSError:
            status = None
    return status, sent, ended


def _open_slow(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sock.setblocking(False)
    return sock


def _still_open(sock: socket.socket) -> bool:
    """Send one more header line; False once the server answered or closed the connection."""
    if select.select([sock], [], [], 0)[0]:
        return False
    try:
        sock.send(b"X-Slow: 1\r\n")
    except OSError:
        return False
    return True


def slow_headers(
    url: str, port: int, count: int, hold_s: float, drip_s: float = 1.0
) -> dict[str, object]:
    """Hold ``count`` connections that send a header line every ``drip_s`` seconds and never
    finish; meanwhile time a normal /healthz. Returns how many the server closed and when."""
    sockets = [_open_slow(port) for _ in range(count)]
    started = time.monotonic()
    normal_started = time.perf_counter()
    try:
        normal = httpx.get(url + "/healthz", timeout=10).status_code
    except httpx.HTTPError as exc:
        normal = f"failed: {type(exc).__name__}"
    normal_s = time.perf_counter() - normal_started
    open_ones = list(sockets)
    while open_ones and time.monotonic() - started < hold_s:
        time.sleep(drip_s)
        open_ones = [s for s in open_ones if _still_open(s)]
    closed_after = time.monotonic() - started
    for sock in sockets:
        sock.close()
    return {
        "normal_status": normal,
        "normal_s": normal_s,
        "closed": count - len(open_ones),
        "closed_after_s": closed_after,
    }


def header_cases(server: Service, header_timeout: float | None) -> list[Outcome]:
    """A 150 MB header (431 quickly), then 50 slow-header connections (closed in time)."""
    limit = 15.0
    mark = server.log_size()
    rss_before = server.rss_mb()
    started = time.perf_counter()
    status, sent, ended = huge_header(server.port, 150 * 2**20, limit)
    seconds = time.perf_counter() - started
    time.sleep(0.3)
    growth = server.rss_mb() - rss_before if server.alive() else float("nan")
    got = f"{status or 'no status'} after {sent / 2**20:.0f} MiB ({ended}); RSS +{growth:.0f} MiB"
    big = Outcome(
        "3 http: 150 MB header to /healthz",
        "431 quickly",
        got,
        status == 431,
        [status] if status else [],
        server.log_since(mark),
        seconds,
        limit,
    )
    hold = (header_timeout or 10.0) + 6.0
    mark = server.log_size()
    started = time.perf_counter()
    held = slow_headers(server.url, server.port, 50, hold)
    seconds = time.perf_counter() - started
    normal = held["normal_status"]
    timeout_note = (
        f"--header-timeout {header_timeout:g}" if header_timeout else "no header-timeout option"
    )
    slow = Outcome(
        "3 http: 50 slow-header connections",
        f"normal /healthz answers; all 50 closed ({timeout_note})",
        f"/healthz {normal} in {held['normal_s']:.1f} s; {held['closed']}/50 closed "
        f"after {held['closed_after_s']:.0f} s",
        normal == 200 and float(held["normal_s"]) < 5 and held["closed"] == 50,
        [normal] if isinstance(normal, int) else [],
        server.log_since(mark),
        seconds,
        hold + 15,
    )
    return [big, slow]
