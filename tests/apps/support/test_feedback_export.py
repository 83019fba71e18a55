"""Feedback with corrected replies: stored masked, old databases upgraded, and exported as
preference pairs and prompt/response rows that the generate task's readers accept."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.feedback_export import export_feedback
from bizlm.apps.support.store import ConversationStore
from bizlm.cli import run
from bizlm.task_config import TaskConfig
from bizlm.tasks.base import build_task

# the feedback table as the desk created it before corrected replies
OLD_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, role TEXT NOT NULL,
    text TEXT NOT NULL, intent TEXT, confidence REAL, kind TEXT, created REAL NOT NULL
);
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
    conversation TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id INTEGER NOT NULL REFERENCES messages (id),
    rating TEXT NOT NULL, correct_intent TEXT, created REAL NOT NULL
);
INSERT INTO messages VALUES (1, 's0', 'customer', 'where is my bag', NULL, NULL, NULL, 0);
INSERT INTO messages VALUES (2, 's0', 'desk', 'Bags go to gate 4.', 'travel', 0.9, 'faq', 0);
INSERT INTO feedback VALUES (1, 2, 'up', NULL, 0);
"""


def _turn(store: ConversationStore, session: str, question: str, reply: str, kind: str) -> int:
    store.add_message(session, "customer", question)
    return store.add_message(session, "desk", reply, "travel", 0.9, kind)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ConversationStore]:
    """A desk database with one feedback of each case the exports distinguish."""
    opened = ConversationStore(tmp_path / "conversations.db")
    generated = _turn(opened, "s1", "when does the shop open", "It opens at 8.", "generated")
    opened.add_feedback(generated, "down", "praise", "It opens at 9 on weekdays.")
    faq = _turn(opened, "s1", "bag gate ticket", "Bags go to gate 4.", "faq")
    opened.add_feedback(faq, "down", None, "Bags go to gate 7; call 020 7946 0958.")
    liked = _turn(opened, "s2", "is the crew nice", "Our crew thanks you.", "generated")
    opened.add_feedback(liked, "up", None)
    template = _turn(opened, "s2", "seat plane today", "Seats open at 9.", "template")
    opened.add_feedback(template, "up", None)
    handoff = _turn(opened, "s3", "refund my ticket", "A colleague will reply.", "handoff")
    opened.add_feedback(handoff, "down", None, "Refunds take 5 days.")
    same = _turn(opened, "s3", "bag size", "Bags up to 20 kg.", "faq")
    opened.add_feedback(same, "down", None, " Bags up to 20 kg. ")
    bare = _turn(opened, "s4", "hello there", "Hello!", "template")
    opened.add_feedback(bare, "down", None)
    yield opened
    opened.close()


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_corrected_replies_become_pairs_and_rows(store: ConversationStore, tmp_path: Path):
    out = tmp_path / "out"
    summary = export_feedback(store, out / "intents.jsonl", out / "prefs.jsonl", out / "sft.jsonl")
    assert _rows(out / "prefs.jsonl") == [
        {
            "prompt": "when does the shop open",
            "chosen": "It opens at 9 on weekdays.",
            "rejected": "It opens at 8.",
        },
        {
            "prompt": "bag gate ticket",
            "chosen": "Bags go to gate 7; call [PHONE].",  # masked when stored
            "rejected": "Bags go to gate 4.",
        },
    ]
    assert _rows(out / "sft.jsonl") == [
        {"prompt": "when does the shop open", "response": "It opens at 9 on weekdays."},
        {"prompt": "bag gate ticket", "response": "Bags go to gate 7; call [PHONE]."},
        {"prompt": "is the crew nice", "response": "Our crew thanks you."},
        {"prompt": "refund my ticket", "response": "Refunds take 5 days."},
        {"prompt": "bag size", "response": "Bags up to 20 kg."},
    ]
    assert summary["preferences"] == {
        "file": str(out / "prefs.jsonl"),
        "pairs": 2,
        "skipped": {"thumbs_up": 2, "not_an_answer": 1, "same_reply": 1, "down_without_reply": 1},
    }
    assert summary["sft"] == {
        "file": str(out / "sft.jsonl"),
        "rows": 5,
        "corrected": 4,
        "generated_up": 1,
        "skipped": {"up_not_generated": 1, "down_without_reply": 1},
    }
    # the intent rows are as before: a thumbs-up keeps the intent, a thumbs-down needs one
    assert summary["written"] == 3 and summary["skipped_down_without_intent"] == 4
    assert _rows(out / "intents.jsonl")[0] == {"text": "when does the shop open", "label": "praise"}
    for name in ("intents.jsonl", "prefs.jsonl", "sft.jsonl"):
        assert (out / name).stat().st_mode & 0o777 == 0o600


def test_the_exports_read_as_training_data(store: ConversationStore, tmp_path: Path):
    export_feedback(store, tmp_path / "i.jsonl", tmp_path / "prefs.jsonl", tmp_path / "sft.jsonl")
    dpo = build_task(TaskConfig(type="generate", preference=True))
    pairs = dpo.read(tmp_path / "prefs.jsonl", "utf-8", {})
    assert pairs.texts == ["when does the shop open", "bag gate ticket"]
    assert pairs.extras["rejected"][0][-1] == {"role": "assistant", "content": "It opens at 8."}
    sft = build_task(TaskConfig(type="generate")).read(tmp_path / "sft.jsonl", "utf-8", {})
    assert sft.targets[0] == "It opens at 9 on weekdays." and len(sft.texts) == 5


def test_an_old_database_gains_the_correct_reply_column(tmp_path: Path):
    path = tmp_path / "conversations.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = ConversationStore(path)
    try:
        reply = _turn(store, "s1", "bag gate ticket", "Bags go to gate 4.", "faq")
        store.add_feedback(reply, "down", None, "Gate 7.")
        rows = [(item["rating"], item["correct_reply"]) for item in store.feedback()]
    finally:
        store.close()
    assert rows == [("up", None), ("down", "Gate 7.")]
    ConversationStore(path).close()  # opening again adds nothing twice


def test_two_exports_into_one_file_are_refused(store: ConversationStore, tmp_path: Path):
    with pytest.raises(SupportProjectError, match="same file"):
        export_feedback(store, tmp_path / "a.jsonl", tmp_path / "a.jsonl")
    assert not (tmp_path / "a.jsonl").exists()


def test_cli_writes_and_summarises_every_file(
    store: ConversationStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.chdir(tmp_path)  # short paths: the printed lines stay unwrapped
    files = ["i.jsonl", "p.jsonl", "s.jsonl"]
    command = ["app", "support", "export-feedback", ".", files[0]]
    assert run([*command, "--preferences", files[1], "--sft", files[2]]) == 0
    printed = capsys.readouterr().out
    assert "p.jsonl: 2 preference pairs" in printed
    assert "skipped: 1 thumbs-down without correct_reply" in printed
    assert "5 prompt/response rows (4 corrected, 1 generated with a thumbs-up)" in printed
    assert run([*command, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 3 and "preferences" not in summary
    assert run([*command, "--sft", files[0]]) == 2
    assert "same file" in capsys.readouterr().err
