"""The chat page in a real headless Chromium: ask, see the answer, rate it (a thumbs-down with a
corrected reply), see it stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bizlm.apps.support.service import create_support_app
from bizlm.serve.settings import ServeSettings
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
            answer = page.locator(".desk .text").first
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
