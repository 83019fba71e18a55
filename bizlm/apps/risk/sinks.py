"""Where alerts go besides the stored list: the log, and webhooks through an outbox.

Each new alert gets one outbox row per webhook before any delivery is tried, so an alert is
never lost when a receiver is down: delivery is retried with exponential back-off (visible in
the outbox with the attempts and last error) until it succeeds or runs out of attempts
(``dead``, still listed).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import select, update

from bizlm.apps.risk.config import WebhookConfig
from bizlm.apps.risk.store import ItemStore, outbox

log = logging.getLogger("bizlm.apps.risk")
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def alert_payload(alert: dict[str, Any]) -> dict[str, Any]:
    """The JSON an alert is sent as."""
    start = dt.datetime.fromtimestamp(alert["window_start"], dt.UTC).isoformat()
    share = alert["negatives"] / alert["count"] if alert["count"] else 0.0
    return {
        "alert_id": alert["id"],
        "rule": alert["rule"],
        "topic": alert["topic"],
        "entity": alert["entity"],
        "detector": alert["detector"],
        "window_start": start,
        "window_s": alert["window_s"],
        "items": alert["count"],
        "negative_items": alert["negatives"],
        "negative_share": round(share, 4),
        "score": alert["score"],
    }


def log_alerts(new_alerts: Sequence[dict[str, Any]]) -> None:
    """Write one warning line per new alert."""
    for alert in new_alerts:
        payload = alert_payload(alert)
        log.warning(
            "ALERT %s: topic %s, window %s, %d of %d items negative (%s score %.2f)",
            payload["rule"],
            payload["topic"],
            payload["window_start"],
            payload["negative_items"],
            payload["items"],
            payload["detector"],
            payload["score"],
        )


def enqueue(store: ItemStore, webhooks: Sequence[WebhookConfig], new_alerts: Sequence[dict]) -> int:
    """Put every new alert in the outbox once per webhook; returns the rows added."""
    rows = [
        {
            "alert_id": alert["id"],
            "url": hook.url,
            "payload": alert_payload(alert),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": time.time(),
        }
        for alert in new_alerts
        for hook in webhooks
    ]
    if rows:
        with store.engine.begin() as connection:
            connection.execute(outbox.insert(), rows)
    return len(rows)


def backoff_s(hook: WebhookConfig, attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed deliveries: doubling, capped."""
    return min(hook.max_backoff_s, hook.backoff_s * 2 ** (attempts - 1))


def _post(client: httpx.Client, hook: WebhookConfig, payload: dict[str, Any]) -> str | None:
    """None when delivered, else what went wrong."""
    try:
        answer = client.post(hook.url, json=payload, timeout=hook.timeout_s)
    except httpx.TimeoutException:
        return f"timed out after {hook.timeout_s:g} s"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if answer.is_success:
        return None
    return f"HTTP {answer.status_code}"


def deliver_due(store: ItemStore, webhooks: Sequence[WebhookConfig]) -> tuple[int, int]:
    """Try every outbox row whose time has come; returns (delivered, failed attempts)."""
    hooks = {hook.url: hook for hook in webhooks}
    moment = time.time()
    query = select(outbox).where(outbox.c.status == PENDING, outbox.c.next_attempt_at <= moment)
    with store.engine.connect() as connection:
        due = [dict(row._mapping) for row in connection.execute(query.order_by(outbox.c.id))]
    delivered = failed = 0
    with httpx.Client() as client:
        for row in due:
            hook = hooks.get(row["url"])
            if hook is None:  # the webhook was removed from risk.yaml: keep the row as it is
                continue
            error = _post(client, hook, row["payload"])
            attempts = row["attempts"] + 1
            if error is None:
                values: dict[str, Any] = {"status": DELIVERED, "delivered_at": time.time()}
                delivered += 1
            else:
                values = {
                    "status": DEAD if attempts >= hook.max_attempts else PENDING,
                    "last_error": error,
                    "next_attempt_at": time.time() + backoff_s(hook, attempts),
                }
                failed += 1
                log.warning("webhook %s: attempt %d failed: %s", hook.url, attempts, error)
            with store.engine.begin() as connection:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id == row["id"])
                    .values(attempts=attempts, **values)
                )
    return delivered, failed


def list_outbox(store: ItemStore, limit: int = 100) -> list[dict[str, Any]]:
    """The newest outbox rows first."""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
