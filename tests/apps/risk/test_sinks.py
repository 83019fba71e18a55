"""Webhook sink: a receiver that answers 500 or times out gets retries with back-off, and the
outbox shows every attempt; nothing is lost."""

from __future__ import annotations

import logging
import time

import pytest

from bizlm.apps.risk.config import RiskFolder, WebhookConfig
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.sinks import backoff_s, list_outbox
from bizlm.apps.risk.store import outbox
from tests.apps.risk.conftest import keyword_classifier, stream
from tests.apps.risk.receiver import webhook_receiver


def make_due_now(monitor: Monitor) -> None:
    """Skip the back-off wait (the test does not sleep through it)."""
    with monitor.store.engine.begin() as connection:
        connection.execute(outbox.update().values(next_attempt_at=0.0))


def test_backoff_doubles_up_to_its_cap():
    hook = WebhookConfig(url="http://127.0.0.1:1/x", backoff_s=2, max_backoff_s=10)
    assert [backoff_s(hook, n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


def test_a_failing_webhook_is_retried_from_the_outbox_until_delivered(
    folder: RiskFolder, caplog: pytest.LogCaptureFixture
):
    with webhook_receiver(hang_s=1.5) as receiver:
        folder.config.webhooks = [
            WebhookConfig(url=receiver.url, timeout_s=0.5, backoff_s=30, max_attempts=5)
        ]
        monitor = Monitor(folder, keyword_classifier())
        try:
            receiver.mode = "500"
            monitor.ingest(stream(hours=14, per_hour=30, surge_hours={9: 40}))
            with caplog.at_level(logging.WARNING, logger="bizlm.apps.risk"):
                first = monitor.step()
            assert len(first.alerts) == 1 and first.delivery_failures == 1
            assert any("ALERT negative-surge: topic business" in m for m in caplog.messages)
            [row] = list_outbox(monitor.store)
            assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 500")
            assert row["next_attempt_at"] > time.time() + 20  # backs off 30 s
            assert monitor.step().delivery_failures == 0  # backing off: not due yet

            receiver.mode = "hang"
            make_due_now(monitor)
            assert monitor.step().delivery_failures == 1
            [row] = list_outbox(monitor.store)
            assert (row["attempts"], row["last_error"]) == (2, "timed out after 0.5 s")

            receiver.mode = "ok"
            make_due_now(monitor)
            assert monitor.step().delivered == 1
            [row] = list_outbox(monitor.store)
            assert (row["status"], row["attempts"]) == ("delivered", 3)
        finally:
            monitor.close()
    assert len(receiver.received) == 3
    [payload] = receiver.delivered
    assert payload["topic"] == "business" and payload["rule"] == "negative-surge"
    assert payload["items"] == 70 and payload["negative_items"] == 46


def test_a_webhook_that_never_recovers_ends_dead_but_listed(folder: RiskFolder):
    with webhook_receiver() as receiver:
        receiver.mode = "500"
        folder.config.webhooks = [WebhookConfig(url=receiver.url, max_attempts=2)]
        monitor = Monitor(folder, keyword_classifier())
        try:
            monitor.ingest(stream(hours=14, per_hour=30, surge_hours={9: 40}))
            monitor.step()
            make_due_now(monitor)
            monitor.step()
            make_due_now(monitor)
            assert monitor.step().delivery_failures == 0
            [row] = list_outbox(monitor.store)
        finally:
            monitor.close()
    assert (row["status"], row["attempts"], row["last_error"]) == ("dead", 2, "HTTP 500")
