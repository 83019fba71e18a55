"""Conversations, hand-offs and feedback in SQLite; every stored text is PII-masked first.

Feedback exports as JSONL rows ``{"text", "label"}`` for ``bizlm update``: a thumbs-up confirms
the predicted intent; a thumbs-down counts only when it names the right intent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from bizlm.apps.support.project import OUT_OF_SCOPE
from bizlm.atomic import atomic_write_text
from bizlm.pii import mask
from bizlm.private_files import ensure_private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    intent TEXT,
    confidence REAL,
    kind TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages (session_id, id);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    rating TEXT NOT NULL,
    correct_intent TEXT,
    created REAL NOT NULL
);
"""

MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer


class ConversationStore:
    """One SQLite file holding every conversation of a support desk."""

    def __init__(self, path: Path) -> None:
        ensure_private_file(path)  # customer texts: 0600 before SQLite opens it
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def add_message(
        self,
        session_id: str,
        role: str,
        text: str,
        intent: str | None = None,
        confidence: float | None = None,
        kind: str | None = None,
    ) -> int:
        """Store one message (masked); return its id."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO messages (session_id, role, text, intent, confidence, kind, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, role, mask(text), intent, confidence, kind, time.time()),
            )
        return int(cursor.lastrowid)

    def conversation(self, session_id: str) -> list[dict[str, Any]]:
        """The session's messages in order: role, text (masked), intent, kind."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, role, text, intent, kind FROM messages WHERE session_id = ? "
                "ORDER BY id",
                (session_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def add_handoff(self, session_id: str) -> list[dict[str, Any]]:
        """Record that a person takes over; return the conversation handed over."""
        conversation = self.conversation(session_id)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO handoffs (session_id, conversation, created) VALUES (?, ?, ?)",
                (session_id, json.dumps(conversation, ensure_ascii=False), time.time()),
            )
        return conversation

    def message(self, message_id: int) -> dict[str, Any] | None:
        """One stored message, or None (also for ids no SQLite row can have)."""
        if not 1 <= message_id <= MAX_ROW_ID:
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return dict(row) if row is not None else None

    def add_feedback(self, message_id: int, rating: str, correct_intent: str | None) -> int:
        """Store a thumbs up/down on a desk reply; return the feedback id."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO feedback (message_id, rating, correct_intent, created) "
                "VALUES (?, ?, ?, ?)",
                (message_id, rating, correct_intent, time.time()),
            )
        return int(cursor.lastrowid)

    def feedback(self) -> list[dict[str, Any]]:
        """Every feedback with the reply it rates and the customer message it answered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT f.id, f.rating, f.correct_intent, r.intent, r.session_id, "
                "(SELECT q.text FROM messages q WHERE q.session_id = r.session_id "
                " AND q.role = 'customer' AND q.id < r.id ORDER BY q.id DESC LIMIT 1) AS question "
                "FROM feedback f JOIN messages r ON r.id = f.message_id ORDER BY f.id"
            ).fetchall()
        return [dict(row) for row in rows]


def export_feedback(store: ConversationStore, output: Path) -> dict[str, int]:
    """Write feedback as training rows for ``bizlm update``; return what was written and skipped.

    A thumbs-up on a known intent gives (question, predicted intent); a thumbs-down with a
    correct intent gives (question, correct intent). Others are counted as skipped.
    """
    rows, skipped = [], {"down_without_intent": 0, "out_of_scope": 0}
    for item in store.feedback():
        label = item["correct_intent"] if item["rating"] == "down" else item["intent"]
        if item["rating"] == "down" and not label:
            skipped["down_without_intent"] += 1
        elif not label or label == OUT_OF_SCOPE or not item["question"]:
            skipped["out_of_scope"] += 1
        else:
            rows.append(json.dumps({"text": item["question"], "label": label}, ensure_ascii=False))
    atomic_write_text(Path(output), "".join(f"{row}\n" for row in rows), private=True)
    return {"written": len(rows), **{f"skipped_{k}": v for k, v in skipped.items()}}
