"""Header size, count and read-time limits on a real uvicorn server; numbers in paths."""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from bizlm.memory import rss_mib
from bizlm.serve.app import create_app
from bizlm.serve.limits import uvicorn_http_options
from bizlm.serve.settings import ServeSettings
from tests.live_server import serve_app

BIG = "1" * 25


@contextlib.contextmanager
def limited_server(settings: ServeSettings) -> Iterator[tuple[str, int]]:
    """The model server under uvicorn with the header limits of ``settings``: (host, port)."""
    options = uvicorn_http_options(settings)
    with serve_app(create_app(settings), log_level="error", **options) as url:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        yield host, int(port)


def read_answer(conn: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout`` passes)."""
    conn.settimeout(timeout)
    received = b""
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while chunk := conn.recv(65536):
            received += chunk
    return received


def read_head_and_body(conn: socket.socket) -> tuple[bytes, bytes]:
    """One response with a Content-Length, read from a connection that stays open."""
    conn.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        assert chunk, f"the server closed the connection after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))
    while len(body) < length:
        body += conn.recv(65536)
    return head, body


def error_code(answer: bytes, status: int) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    return json.loads(body)["error"]["code"]


@pytest.fixture()
def settings(registry_url: str) -> ServeSettings:
    return ServeSettings(registry_url=registry_url, auth=False, header_timeout_s=0.5)


def test_a_huge_header_is_cut_with_431_without_reading_it(settings: ServeSettings):
    claimed = 150 * 2**20
    chunk = b"a" * 2**20
    with limited_server(settings) as address, socket.create_connection(address) as conn:
        before = rss_mib()  # the server runs in this process
        started = time.monotonic()
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        conn.setblocking(False)
        sent, answer = 0, b""
        while sent < claimed and time.monotonic() - started < 20:
            readable, writable, _ = select.select([conn], [conn], [], 1)
            if readable:
                answer = read_answer(conn, 5)
                break
            if writable:
                try:
                    sent += conn.send(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    answer = read_answer(conn, 5)
                    break
        elapsed = time.monotonic() - started
        grown = rss_mib() - before
    assert error_code(answer, 431) == "headers_too_large"
    assert b"32768 bytes (max_header_bytes)" in answer
    assert sent < 20 * 2**20 and elapsed < 5
    assert grown < 40, f"the server's memory grew by {grown:.0f} MiB"


def test_headers_over_the_limit_sent_at_once_are_431(settings: ServeSettings):
    with limited_server(settings) as (host, port), httpx.Client() as http:
        url = f"http://{host}:{port}/healthz"
        over = http.get(url, headers={"X-Big": "a" * 40_000})
        under = http.get(url, headers={"X-Big": "a" * 30_000})
    assert over.status_code == 431
    assert over.json()["error"]["code"] == "headers_too_large"
    assert under.status_code == 200


def test_too_many_headers_is_431(settings: ServeSettings):
    headers = {f"x-field-{index}": "1" for index in range(settings.max_headers + 1)}
    with limited_server(settings) as (host, port):
        answer = httpx.get(f"http://{host}:{port}/healthz", headers=headers)
        assert httpx.get(f"http://{host}:{port}/healthz").status_code == 200
    assert answer.status_code == 431
    assert answer.json()["error"] == {
        "code": "too_many_headers",
        "message": "The request has 106 header fields; at most 100 are allowed (max_headers).",
    }


def test_a_client_trickling_its_headers_is_dropped_after_the_header_timeout(
    settings: ServeSettings,
):
    with limited_server(settings) as address, socket.create_connection(address) as conn:
        started = time.monotonic()
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(30):  # one header byte every 0.1 s: 3 s if the server waited
                conn.sendall(b"X")
                time.sleep(0.1)
        answer = read_answer(conn, 5)
        elapsed = time.monotonic() - started
    assert error_code(answer, 408) == "header_timeout"
    assert elapsed < 2


def test_slow_header_connections_do_not_block_others_and_are_closed(registry_url: str):
    settings = ServeSettings(registry_url=registry_url, auth=False, header_timeout_s=2)
    with limited_server(settings) as address:
        host, port = address
        slow = [socket.create_connection(address) for _ in range(50)]
        for conn in slow:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        assert httpx.get(f"http://{host}:{port}/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < 1.5  # answered while the slow ones still wait
        answers = [read_answer(conn, 5) for conn in slow]
        for conn in slow:
            conn.close()
    assert all(error_code(answer, 408) == "header_timeout" for answer in answers)


def test_a_silent_connection_is_closed_after_the_header_timeout(settings: ServeSettings):
    with limited_server(settings) as address, socket.create_connection(address) as conn:
        started = time.monotonic()
        answer = read_answer(conn, 5)
    assert error_code(answer, 408) == "header_timeout"
    assert time.monotonic() - started < 2


def test_an_idle_kept_alive_connection_is_not_cut_by_the_header_timeout(
    settings: ServeSettings,
):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with limited_server(settings) as address, socket.create_connection(address) as conn:
        heads = []
        for _ in range(2):
            conn.sendall(request)
            heads.append(read_head_and_body(conn)[0])
            time.sleep(0.7)  # longer than the header timeout, shorter than keep-alive
    assert all(head.startswith(b"HTTP/1.1 200 ") for head in heads), heads


def test_numbers_beyond_64_bits_in_paths_are_404(registry_url: str):
    from fastapi import APIRouter

    app = create_app(ServeSettings(registry_url=registry_url, auth=False))
    database = sqlite3.connect(":memory:", check_same_thread=False)
    database.execute("create table alerts (id integer primary key)")
    router = APIRouter()

    @router.get("/v1/alerts/{alert_id}")
    def alert(alert_id: int) -> dict[str, int]:
        row = database.execute("select id from alerts where id = ?", (alert_id,)).fetchone()
        return {"found": int(row is not None)}

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        for number in (BIG, "-" + BIG, "9223372036854775808", "0" * 30 + BIG):
            answer = client.get(f"/v1/alerts/{number}")
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "not_found"
            assert "'alert_id' must be a whole number from" in answer.json()["error"]["message"]
        for number in ("9223372036854775807", "-9223372036854775808", "0" * 30 + "7"):
            assert client.get(f"/v1/alerts/{number}").json() == {"found": 0}
        answers = [
            client.get(f"/v1/models/{BIG}"),
            client.post(f"/v1/models/{BIG}/predict", json={"text": "good"}),
        ]
    assert [a.json()["error"]["code"] for a in answers] == ["model_not_found"] * 2
