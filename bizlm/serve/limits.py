"""Limits on HTTP requests: header size, count and read time, body size, numbers in paths.

Header size and read time are enforced by the HTTP protocol (uvicorn's h11 implementation, with
a header read timeout added) before a request reaches the application; the header count and
body size by ASGI middleware; numbers in paths by a dependency of every route.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

import h11
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol
from uvicorn.server import ServerState

from bizlm.serve.errors import ApiError, error_response

if TYPE_CHECKING:
    from fastapi.dependencies.models import Dependant

    from bizlm.serve.settings import ServeSettings

INT64_MAX = 2**63 - 1
_LONG_NUMBER = re.compile(r"/[+-]?\d{19,}(?=/|$)")


def uvicorn_http_options(settings: ServeSettings) -> dict[str, Any]:
    """Options for ``uvicorn.run`` / ``uvicorn.Config`` that enforce the header limits."""
    protocol = type(
        "HeaderLimitedH11", (HeaderLimitedH11,), {"header_timeout_s": settings.header_timeout_s}
    )
    return {"http": protocol, "h11_max_incomplete_event_size": settings.max_header_bytes}


class _Connection(h11.Connection):
    """An h11 server connection that refuses request heads over ``max_head_bytes``.

    h11 itself refuses only a head still incomplete after that many bytes; one that arrives
    whole in a single read is measured here. The last refusal is kept for the answer.
    """

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes
        self.refusal: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        """The next event from the client, or the protocol error that refuses it."""
        try:
            event = super().next_event()
            if isinstance(event, h11.Request) and _head_size(event) > self.max_head_bytes:
                raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
            return event
        except h11.RemoteProtocolError as exc:
            self.refusal = exc
            raise


def _head_size(request: h11.Request) -> int:
    """The size of a request line and headers as sent (``METHOD TARGET HTTP/1.1``, CRLFs)."""
    fields = sum(len(name) + len(value) + 4 for name, value in request.headers)
    return len(request.method) + len(request.target) + 12 + fields


class HeaderLimitedH11(H11Protocol):
    """uvicorn's h11 protocol, plus a header read timeout and JSON error answers.

    A request line and headers larger than ``h11_max_incomplete_event_size`` bytes get 431, as
    soon as that many bytes are buffered (so a huge header is never read into memory). A client
    that has not sent its complete request headers ``header_timeout_s`` seconds after it
    connected, or after it started its next request, gets 408 and is disconnected.
    """

    header_timeout_s = 10.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes = config.h11_max_incomplete_event_size or 16_384  # h11's default
        self.conn: _Connection = _Connection(self.max_header_bytes)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the header clock for the first request."""
        super().connection_made(transport)  # type: ignore[arg-type]
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        """Parse the bytes; start the header clock on a new request, stop it once it is read."""
        super().data_received(data)
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the header clock."""
        self._stop_header_clock()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """Answer bytes that are not an acceptable request: 431 for oversized headers, else 400."""
        refusal = self.conn.refusal
        if refusal is not None and refusal.error_status_hint == 431:
            limit = f"{self.max_header_bytes} bytes (max_header_bytes)"
            self._refuse(431, "headers_too_large", f"The request headers are larger than {limit}.")
        else:
            self._refuse(400, "invalid_http", "The request is not valid HTTP/1.1.")

    def _watch_headers(self) -> None:
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if not waiting:
            self._stop_header_clock()
        elif self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            limit = f"{self.header_timeout_s:g} s (header_timeout)"
            self._refuse(408, "header_timeout", f"The request headers took longer than {limit}.")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Send a JSON error answer and close the connection."""
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            response = h11.Response(
                status_code=status, headers=headers, reason=STATUS_PHRASES[status]
            )
            self.transport.write(self.conn.send(response) or b"")
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # an answer has started already: just hang up
            pass
        self.transport.close()


class HeaderCountMiddleware:
    """ASGI middleware: a request with more than ``max_headers`` header fields gets 431."""

    def __init__(self, app: ASGIApp, max_headers: int) -> None:
        self.app = app
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the header fields, then pass the request on."""
        count = len(scope.get("headers", ()))
        if scope["type"] == "http" and count > self.max_headers:
            message = (
                f"The request has {count} header fields; at most {self.max_headers} are allowed "
                "(max_headers)."
            )
            await error_response(431, "too_many_headers", message)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def bounded_path_numbers(request: Request) -> None:
    """A dependency for every route: a whole-number path parameter outside 64 bits gets 404.

    Such a number can name nothing (databases store 64-bit integers), and passing it on would
    crash the query. Only paths holding a number of 19 digits or more are looked at.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _LONG_NUMBER.search(request.scope["path"]):
        return
    for name in _integer_path_params(route.dependant):
        value = str(request.path_params.get(name, ""))
        if _beyond_int64(value):
            raise ApiError(
                404,
                "not_found",
                f"Nothing at {request.scope['path']}: '{name}' must be a whole number from "
                f"{-INT64_MAX - 1} to {INT64_MAX}.",
            )


def _integer_path_params(dependant: Dependant) -> list[str]:
    names = [p.name for p in dependant.path_params if p.field_info.annotation is int]
    for sub in dependant.dependencies:
        names += _integer_path_params(sub)
    return names


def _beyond_int64(value: str) -> bool:
    digits = value.lstrip("+-").lstrip("0")
    if not digits.isdigit():
        return False
    return len(digits) > 19 or int(digits) > INT64_MAX + value.startswith("-")


class BodyLimitMiddleware:
    """ASGI middleware: a declared or streamed body larger than ``max_bytes`` gets 413.

    A ``Content-Length`` over the limit is answered at once; a chunked body is counted as it
    arrives and reading stops as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"The request body is larger than {self.max_bytes} bytes (max_body_bytes)."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await error_response(413, "body_too_large", self._message())(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI lets HTTPException through body parsing; the handler answers 413.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
