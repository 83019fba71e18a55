"""The HTTP service: partial acceptance, idempotent retries, trends, alerts, outbox, inbox, auth."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bizlm.apps.risk.config import RiskFolder
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.service import create_risk_app
from bizlm.serve.settings import ServeSettings
from tests.apps.risk.conftest import T0, keyword_classifier, stream
from tests.serve.conftest import batches_run, forbid_server_loading


def wait_for(check, seconds: float = 30.0):
    """Poll until ``check()`` is truthy (the background loop runs every 0.05 s here)."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        assert time.monotonic() < deadline, "the background loop did not catch up"
        time.sleep(0.05)
    return value


def start(folder: RiskFolder, bundle: Path, auth: bool = False, **settings) -> TestClient:
    monitor = Monitor(folder, keyword_classifier())
    serve_settings = ServeSettings(
        bundles=(bundle,),
        auth=auth,
        registry_url=f"sqlite:///{folder.root / 'keys.db'}",
        **settings,
    )
    app = create_risk_app(monitor, serve_settings, interval_s=0.05)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture()
def client(folder: RiskFolder, tiny_bundles: list[Path]) -> Iterator[TestClient]:
    with start(folder, tiny_bundles[0]) as running:
        yield running


def test_a_batch_is_partly_accepted_and_a_retry_is_not_counted_twice(client: TestClient):
    batch = [
        {"id": "a", "time": "2024-03-01T10:00:00Z", "source": "wire", "text": "bank fraud"},
        {"id": "b", "time": "2024-03-01T10:01:00Z", "text": ""},
        {"id": "c", "time": "half past ten", "text": "phone great"},
    ]
    answer = client.post("/v1/risk/items", json={"items": batch})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    assert body["rejected"] == [
        {"index": 1, "id": "b", "field": "text", "reason": "text is missing or empty"},
        {
            "index": 2,
            "id": "c",
            "field": "time",
            "reason": "time 'half past ten' is not an ISO 8601 date-time",
        },
    ]
    again = client.post("/v1/risk/items", json={"items": batch[:1]}).json()
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    items = wait_for(lambda: client.get("/v1/risk/items").json()["counts"]["done"] == 1)
    assert items
    [row] = client.get("/v1/risk/items").json()["items"]
    assert (row["id"], row["topic"], row["sentiment"]) == ("a", "business", "negative")


def test_a_batch_with_no_usable_item_is_a_422_listing_every_reason(client: TestClient):
    answer = client.post("/v1/risk/items", json={"items": [{"id": "x", "time": "?", "text": "t"}]})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"]["code"] == "no_valid_items"
    assert body["error"]["message"] == (
        "No item of the batch was accepted: item 0, field 'time': "
        "time '?' is not an ISO 8601 date-time."
    )
    assert body["rejected"][0]["reason"] == "time '?' is not an ISO 8601 date-time"
    assert client.post("/v1/risk/items", json={"items": []}).status_code == 422
    broken = client.post(
        "/v1/risk/items", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "invalid_json")


def test_trends_alerts_and_acknowledge(client: TestClient):
    client.post("/v1/risk/items", json={"items": stream(14, 30, {9: 40})})
    alerts = wait_for(lambda: client.get("/v1/risk/alerts").json()["alerts"])
    assert [(a["topic"], a["window_start"]) for a in alerts] == [("business", T0 + 9 * 3600)]
    trends = client.get("/v1/risk/trends", params={"window": "1h"}).json()
    business = trends["topics"]["business"]
    assert len(business) == 14 and business[9] == {
        "start": T0 + 9 * 3600,
        "count": 70,
        "negatives": 46,
        "share": round(46 / 70, 4),
    }
    assert client.get("/v1/risk/trends", params={"window": "1m"}).status_code == 422
    acked = client.post(f"/v1/risk/alerts/{alerts[0]['id']}/ack").json()
    assert acked["acknowledged_at"] is not None
    assert client.post("/v1/risk/alerts/999/ack").json()["error"]["code"] == "alert_not_found"
    status = client.get("/v1/risk/status").json()
    assert (
        status["items"]["done"] == 14 * 30 + 40 and status["rules"][0]["name"] == "negative-surge"
    )
    assert "bizlm_requests_total" in client.get("/metrics").text  # the server's own routes
    assert client.get("/v1/models").json()["models"][0]["name"] == "tiny-1"


def test_files_dropped_in_the_inbox_are_ingested_and_reported(client: TestClient, folder):
    inbox = folder.path(folder.config.inbox)
    lines = [json.dumps(item) for item in stream(2, 5, {})] + ["{broken", json.dumps({"id": "z"})]
    (inbox / "drop.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report_path = inbox / "done" / "drop.report.json"
    wait_for(report_path.exists)
    report = json.loads(report_path.read_text())
    assert (report["accepted"], report["duplicates"]) == (10, 0)
    assert [r["index"] for r in report["rejected"]] == [11, 12]
    assert "line 11 is not JSON" in report["rejected"][0]["reason"]
    assert report["rejected"][1]["reason"] == "line 12: text is missing or empty"
    assert report["rejected"][1]["field"] == "text"
    assert not (inbox / "drop.jsonl").exists() and (inbox / "done" / "drop.jsonl").exists()


def test_with_auth_the_risk_routes_need_a_key(folder: RiskFolder, tiny_bundles: list[Path]):
    from bizlm.registry.keys import KeyStore

    with start(folder, tiny_bundles[0], auth=True) as running:
        assert running.get("/v1/risk/alerts").status_code == 401
        assert running.get("/").status_code == 200  # the page; its data calls need the key
        secret = KeyStore(f"sqlite:///{folder.root / 'keys.db'}").create("ops", ["predict"])[0]
        wait_for(lambda: running.get("/v1/risk/alerts", headers={"X-API-Key": secret}).is_success)


def test_the_monitors_models_are_loaded_once_and_classify_through_the_batcher(
    tmp_path: Path, tiny_bundles: list[Path], monkeypatch: pytest.MonkeyPatch
):
    from bizlm.apps.risk.workspace import InitOptions, init_folder

    options = InitOptions(topic_bundle=tiny_bundles[0], sentiment_bundle=tiny_bundles[1])
    folder = init_folder(tmp_path / "served", options)
    monitor = Monitor.open(folder.root)
    topic, sentiment = monitor.classifier.topic, monitor.classifier.sentiment

    forbid_server_loading(monkeypatch)
    settings = ServeSettings(
        bundles=tuple(tiny_bundles), auth=False, registry_url=f"sqlite:///{tmp_path / 'k.db'}"
    )
    app = create_risk_app(monitor, settings, interval_s=0.05)
    with TestClient(app) as client:
        assert monitor.classifier.topic.served().current.predictor is topic
        assert monitor.classifier.sentiment.served().current.predictor is sentiment
        texts = ["great happy good news", "awful sad bad day"]
        items = [
            {"id": str(i), "time": T0 + i, "source": "wire", "text": text}
            for i, text in enumerate(texts)
        ]
        client.post("/v1/risk/items", json={"items": items})
        wait_for(lambda: client.get("/v1/risk/items").json()["counts"]["done"] == 2)
        rows = {row["id"]: row for row in client.get("/v1/risk/items").json()["items"]}
        expected = [topic.labels[int(p.argmax())] for p in topic.predict_proba(texts)]
        assert [rows[str(i)]["topic"] for i in range(2)] == expected
        assert batches_run(client.get("/metrics").text, "tiny-1") >= 1
    monitor.close()
