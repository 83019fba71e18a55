"""The audit log: who asked which model what, when, and how it went.

One event per API request (key name, time, model, version, status, latency, number of texts),
written by a background thread to a JSONL file and/or the registry database so requests never
wait for the disk. Texts are recorded only when enabled, and always with personal data masked.
The JSONL file is readable by its owner only (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from pathlib import Path
from typing import Any

from bizlm.pii import mask
from bizlm.private_files import open_private_append
from bizlm.registry.db import AuditRow, transaction

log = logging.getLogger("bizlm.serve.audit")
_BATCH = 256


class AuditLog:
    """Queue audit events and write them in the background."""

    def __init__(
        self, path: Path | None = None, db_url: str | None = None, record_texts: bool = False
    ) -> None:
        self.path = Path(path) if path else None
        self.db_url = db_url
        self.record_texts = record_texts
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="bizlm-audit", daemon=True)
        self._thread.start()

    def record(self, event: dict[str, Any], texts: list[str] | None = None) -> None:
        """Queue one event; ``texts`` are kept (masked) only if recording texts is enabled.

        Masking happens in the writer thread: with a name tagger it runs a model, which must
        not hold up the request.
        """
        entry = {"at": dt.datetime.now(dt.UTC).isoformat(), **event}
        entry["texts"] = list(texts) if self.record_texts and texts else None
        self._queue.put(entry)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while len(batch) < _BATCH and batch[-1] is not None:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [e for e in batch if e is not None]
            try:
                self._write([_masked(e) for e in events])
            except Exception as exc:  # an unwritable log must not stop the server
                log.error("audit log write failed (%d events lost): %s", len(events), exc)
            if batch[-1] is None:
                return

    def _write(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        if self.path is not None:
            with open_private_append(self.path) as handle:
                handle.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        if self.db_url is not None:
            with transaction(self.db_url) as session:
                session.add_all(
                    AuditRow(**{**e, "at": dt.datetime.fromisoformat(e["at"])}) for e in events
                )


def _masked(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its texts, if any, masked of personal data."""
    if event.get("texts"):
        return {**event, "texts": [mask(t) for t in event["texts"]]}
    return event
