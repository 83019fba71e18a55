"""The chat page in a real headless Chromium: ask, see the answer, rate it (a thumbs-down with a
corrected reply), see it stored; a generated answer streamed with sources to open, rated and
exported."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bizlm.apps.support.feedback_export import export_feedback
from bizlm.apps.support.service import create_support_app
from bizlm.apps.support.store import ConversationStore
from bizlm.serve.settings import ServeSettings
from tests.apps.support.test_grounded_agent import (  # noqa: F401  (fixtures)
    REFUNDS,
    StubGenerator,
    desk,
    generate_bundle,
    tiny_generator_dir,
)
from tests.browser import chromium_page
from tests.live_server import serve_app


def test_ask_and_rate_in_the_browser(trained_dir: Path, tmp_path: Path) -> None:
    database = tmp_path / "conversations.db"
    app, store = create_support_app(trained_dir, ServeSettings(auth=False), database)
    app.state.support_agent.project.templates = {}  # answer from the FAQ
    try:
        with serve_app(app) as url, chromium_page() as page:
            page.goto(f"{url}/")
            assert page.url.endswith("/support")
            page.fill("#message", "bag gate ticket")
            page.click("#send")
            answer = page.locator(".desk.answer .text").first
            answer.wait_for(timeout=30_000)
            assert answer.inner_text() == "Bags go to gate 4."
            assert page.locator(".customer .text").first.inner_text() == "bag gate ticket"
            page.click(".rate-up")
            page.locator(".feedback-saved").wait_for(timeout=30_000)
            assert "saved" in page.locator(".feedback-saved").inner_text()
            page.fill("#message", "seat plane today")
            page.click("#send")
            page.locator(".desk .correct-reply").wait_for(timeout=30_000)
            page.fill(".desk .correct-reply", "  Seats open at 10.  ")
            page.click(".desk .rate-down")
            page.locator(".feedback-saved").nth(1).wait_for(timeout=30_000)
            page.fill("#message", "   ")
            page.click("#send")
            page.locator("#status.error").wait_for(timeout=30_000)
            assert "message" in page.locator("#status").inner_text()
    finally:
        store.close()
    with sqlite3.connect(database) as db:
        stored = db.execute(
            "SELECT f.rating, f.correct_reply, m.text FROM feedback f "
            "JOIN messages m ON m.id = f.message_id ORDER BY f.id"
        ).fetchall()
    assert stored == [
        ("up", None, "Bags go to gate 4."),
        ("down", "Seats open at 10.", "Seats open at 9."),
    ]


def test_a_generated_answer_streams_with_sources_to_open_and_exports(
    desk: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    database = tmp_path / "conversations.db"
    app, store = create_support_app(desk, ServeSettings(auth=False), database)
    agent = app.state.support_agent
    agent.project.templates = {}
    agent.project.settings.faq.min_similarity = 1.01  # every answer is generated
    agent.grounded.generator = StubGenerator(
        "Refunds reach your card [1]. It takes five working days [1]."
    )
    try:
        with serve_app(app) as url, chromium_page() as page:
            page.goto(f"{url}/support")
            page.fill("#message", "when do refunds reach my card")
            page.click("#send")
            page.locator(".desk .sources").wait_for(timeout=30_000)
            answer = page.locator(".desk .text").first.inner_text()
            assert answer == "Refunds reach your card [1]. It takes five working days [1]."
            page.click(".desk .source-link")
            page.locator("#source-view:not([hidden])").wait_for(timeout=30_000)
            assert page.locator("#source-view .source-text").inner_text() == REFUNDS
            page.click(".desk .rate-up")
            page.locator(".feedback-saved").wait_for(timeout=30_000)
    finally:
        store.close()
    summary = export_feedback(
        ConversationStore(database), tmp_path / "intents.jsonl", sft=tmp_path / "sft.jsonl"
    )
    rows = [json.loads(line) for line in (tmp_path / "sft.jsonl").read_text().splitlines()]
    assert rows == [{"prompt": "when do refunds reach my card", "response": answer}]
    assert summary["sft"]["rows"] == 1
