"""Ingest, masking, idempotence, failed items kept and retried, alerts, cool-down, acknowledge."""

from __future__ import annotations

from bizlm.apps.risk.alerting import acknowledge, list_alerts
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.rules import Rule, write_rules
from tests.apps.risk.conftest import HOUR, T0, keyword_classifier, stream


def test_items_are_stored_once_by_id_with_personal_data_masked(monitor: Monitor):
    batch = [
        {
            "id": "1",
            "time": T0,
            "source": "mail",
            "text": "bank fraud today, write to jo@example.com",
        },
        {"id": "2", "time": T0 + 5, "text": "phone great"},
    ]
    first = monitor.ingest(batch)
    again = monitor.ingest([*batch, {"id": "3", "time": T0 + 9, "text": "match"}])
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (again.accepted, again.duplicates) == (1, 2)
    monitor.step()
    rows = {row["id"]: row for row in monitor.store.latest(10)}
    assert len(rows) == 3
    assert rows["1"]["text"] == "bank fraud today, write to [EMAIL]"
    assert (rows["1"]["topic"], rows["1"]["sentiment"]) == ("business", "negative")
    assert (rows["2"]["topic"], rows["2"]["sentiment"]) == ("tech", "positive")
    assert monitor.store.counts_by_status() == {"pending": 0, "done": 3, "failed": 0}


def test_an_item_that_fails_is_kept_with_its_error_and_retried(monitor: Monitor):
    monitor.ingest(
        [
            {"id": "ok-1", "time": T0, "text": "bank news"},
            {"id": "bad", "time": T0 + 1, "text": "phone boom"},
            {"id": "ok-2", "time": T0 + 2, "text": "phone news"},
        ]
    )
    result = monitor.step()
    assert (result.labelled, result.failed) == (2, 1)
    [failed] = monitor.store.latest(10, status="failed")
    assert failed["id"] == "bad"
    assert failed["error"] == "RuntimeError: the model cannot read this text"
    assert failed["attempts"] == 1
    assert monitor.step().failed == 0  # not yet due again: waits retry_after_s
    monitor.classifier.topic.broken.clear()
    monitor.classifier.sentiment.broken.clear()
    retried = monitor.step(retry_after_s=0)
    assert (retried.labelled, retried.failed) == (1, 0)
    done = {row["id"]: row for row in monitor.store.latest(10, status="done")}
    assert done["bad"]["topic"] == "tech" and done["bad"]["error"] is None
    assert done["bad"]["attempts"] == 2


def test_failed_items_stop_being_retried_after_max_attempts(monitor: Monitor):
    monitor.ingest([{"id": "bad", "time": T0, "text": "boom"}])
    for _ in range(monitor.folder.config.max_attempts + 2):
        monitor.step(retry_after_s=0)
    [failed] = monitor.store.latest(10, status="failed")
    assert failed["attempts"] == monitor.folder.config.max_attempts


def test_a_negative_surge_alerts_once_in_its_window_then_cools_down(monitor: Monitor):
    monitor.ingest(stream(hours=14, per_hour=30, surge_hours={9: 40, 10: 40}))
    result = monitor.step()
    alerts = list_alerts(monitor.store)
    assert [a["id"] for a in result.alerts] == [a["id"] for a in alerts]
    assert len(alerts) == 1  # hour 10 is within the 3 h cool-down of hour 9
    alert = alerts[0]
    assert (alert["topic"], alert["window_start"], alert["rule"]) == (
        "business",
        T0 + 9 * HOUR,
        "negative-surge",
    )
    assert alert["count"] == 70 and alert["negatives"] == 46
    assert monitor.step().alerts == []  # stored once
    acknowledged = acknowledge(monitor.store, alert["id"])
    assert acknowledged is not None and acknowledged["acknowledged_at"] is not None
    assert acknowledge(monitor.store, 999) is None


def test_the_open_window_is_not_judged_until_a_later_item_arrives(monitor: Monitor):
    monitor.ingest(stream(hours=9, per_hour=30, surge_hours={}))
    surge = stream(hours=10, per_hour=0, surge_hours={9: 40})
    monitor.ingest(surge)
    assert monitor.step().alerts == []
    monitor.ingest([{"id": "later", "time": T0 + 10 * HOUR + 5, "text": "bank steady"}])
    assert len(monitor.step().alerts) == 1


def test_quiet_topics_and_other_entities_do_not_alert(folder):
    rules = [
        Rule(name="acme", entity="Acme Corp", min_count=10),
        Rule(name="globex", entity="Globex", min_count=10),
        Rule(name="tech-only", topic="tech", min_count=10),
    ]
    write_rules(folder.rules, rules)
    monitor = Monitor(folder, keyword_classifier())
    try:
        monitor.ingest(stream(hours=14, per_hour=30, surge_hours={9: 40}))
        fired = {alert["rule"] for alert in monitor.step().alerts}
    finally:
        monitor.close()
    assert fired == {"acme"}
