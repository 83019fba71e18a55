"""Conversations, hand-offs and feedback in SQLite; every stored text is PII-masked first.

Feedback rates one desk reply: thumbs up or down, optionally with the intent it should have had
and an agent's corrected reply (:mod:`bizlm.apps.support.feedback_export` turns it into
training rows). A database written before ``correct_reply`` existed gains the column on open.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

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
    created REAL NOT NULL,
    correct_reply TEXT
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
            columns = {row["name"] for row in self._db.execute("PRAGMA table_info(feedback)")}
            if "correct_reply" not in columns:  # a database of an older version
                self._db.execute("ALTER TABLE feedback ADD COLUMN correct_reply TEXT")

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

    def add_feedback(
        self,
        message_id: int,
        rating: str,
        correct_intent: str | None,
        correct_reply: str | None = None,
    ) -> int:
        """Store a thumbs up/down on a desk reply (the corrected reply masked); return its id."""
        reply = mask(correct_reply) if correct_reply is not None else None
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO feedback (message_id, rating, correct_intent, correct_reply, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_id, rating, correct_intent, reply, time.time()),
            )
        return int(cursor.lastrowid)

    def feedback(self) -> list[dict[str, Any]]:
        """Every feedback with the reply it rates (text, kind, intent) and the customer message
        just before that reply in its session (``question``; None when there is none)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT f.id, f.rating, f.correct_intent, f.correct_reply, r.intent, r.kind, "
                "r.text AS reply, r.session_id, "
                "(SELECT q.text FROM messages q WHERE q.session_id = r.session_id "
                " AND q.role = 'customer' AND q.id < r.id ORDER BY q.id DESC LIMIT 1) AS question "
                "FROM feedback f JOIN messages r ON r.id = f.message_id ORDER BY f.id"
            ).fetchall()
        return [dict(row) for row in rows]
