"""The desk's conversation database and feedback exports hold customer texts: owner-only files."""

from __future__ import annotations

import os
from pathlib import Path

from bizlm.apps.support.feedback_export import export_feedback
from bizlm.apps.support.store import ConversationStore


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_conversation_database_is_created_private(tmp_path: Path):
    path = tmp_path / "desk" / "conversations.db"
    store = ConversationStore(path)
    try:
        store.add_message("s1", "customer", "my card 4111 1111 1111 1111 was stolen")
    finally:
        store.close()
    assert mode(path) == 0o600


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path):
    path = tmp_path / "conversations.db"
    ConversationStore(path).close()
    os.chmod(path, 0o644)
    ConversationStore(path).close()
    assert mode(path) == 0o600


def test_exported_feedback_is_private(tmp_path: Path):
    store = ConversationStore(tmp_path / "conversations.db")
    try:
        store.add_message("s1", "customer", "Who invented the phone?")
        reply = store.add_message("s1", "desk", "Bell.", intent="HUM")
        store.add_feedback(reply, "up", None)
        output = tmp_path / "out" / "feedback.jsonl"
        assert export_feedback(store, output)["written"] == 1
    finally:
        store.close()
    assert mode(output) == 0o600
    assert output.read_text() == '{"text": "Who invented the phone?", "label": "HUM"}\n'


def test_a_message_id_no_row_can_have_is_not_found(tmp_path: Path):
    store = ConversationStore(tmp_path / "conversations.db")
    try:
        assert store.message(10**24) is None
        assert store.message(-1) is None
    finally:
        store.close()
