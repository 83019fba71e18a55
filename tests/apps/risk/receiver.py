"""A tiny webhook receiver on 127.0.0.1 whose answers a test scripts: 500, hang, or 200."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """What the receiver got, and how it answers next (``"500"``, ``"hang"`` or ``"ok"``)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        self.url = ""


@contextlib.contextmanager
def webhook_receiver(hang_s: float = 2.0) -> Iterator[Receiver]:
    """Run the receiver on a free loopback port until the block ends."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            receiver.received.append(body)
            if receiver.mode == "hang":
                time.sleep(hang_s)
            status = 500 if receiver.mode == "500" else 200
            if status == 200 and receiver.mode == "ok":
                receiver.delivered.append(body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
