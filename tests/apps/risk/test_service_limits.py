"""The live service under hostile input: bad times, far-apart times, ids too large for SQLite."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bizlm.apps.risk.config import RiskFolder
from bizlm.apps.risk.items import Item
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.service import create_risk_app
from bizlm.apps.risk.store import ItemStore
from bizlm.memory import rss_mib
from bizlm.serve.settings import ServeSettings
from tests.apps.risk.conftest import T0, keyword_classifier, stream
from tests.apps.risk.test_service import start, wait_for
from tests.apps.risk.test_time_bounds import BAD_TIMES, configure
from tests.live_server import serve_app

RSS_GROWTH_CEILING = 150  # the service's memory may grow by at most 150 MiB
HEALTHZ_CEILING_S = 1.0
EARLIEST = 946684800.0  # 2000-01-01T00:00:00Z
JSON = {"Content-Type": "application/json"}


@pytest.fixture()
def client(folder: RiskFolder, tiny_bundles: list[Path]) -> Iterator[TestClient]:
    with start(folder, tiny_bundles[0]) as running:
        yield running


def test_a_batch_of_bad_times_is_a_422_naming_the_item_and_field(client: TestClient):
    items = [{"id": "ok", "time": T0, "text": "bank news"}, {"id": "x", "time": 1e11, "text": "t"}]
    answer = client.post("/v1/risk/items", json={"items": items})
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    assert answer.json()["rejected"][0]["index"] == 1
    assert answer.json()["rejected"][0]["field"] == "time"
    for value in (1e300, -1e18, 10**400):
        answer = client.post(
            "/v1/risk/items", json={"items": [{"id": "y", "time": value, "text": "t"}]}
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["message"].startswith(
            "No item of the batch was accepted: item 0, field 'time': time "
        )
    raw = b'{"items": [{"id": "n", "time": NaN, "text": "t"}, {"id": "i", "time": -Infinity}]}'
    answer = client.post("/v1/risk/items", content=raw, headers=JSON)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == (
        "No item of the batch was accepted: item 0, field 'time': time nan is not a finite "
        "number (and 1 more, listed in 'rejected')."
    )
    assert client.get("/v1/risk/status").json()["items"]["pending"] <= 1  # only "ok" stored


def test_an_alert_id_too_large_for_the_database_is_a_404(client: TestClient):
    for alert_id in ("1234567890123456789012345", "9223372036854775808", "-1", "0"):
        answer = client.post(f"/v1/risk/alerts/{alert_id}/ack")
        assert answer.status_code == 404, alert_id
        assert "alert" in answer.json()["error"]["message"].lower()


def test_trends_cover_at_most_max_windows_and_say_when_cut(folder: RiskFolder, tiny_bundles):
    with start(configure(folder, max_windows=24), tiny_bundles[0]) as running:
        far = {"id": "far", "time": T0 - 500 * 3600, "text": "bank fraud"}
        running.post("/v1/risk/items", json={"items": [far, *stream(3, 2, {})]})
        wait_for(lambda: running.get("/v1/risk/items").json()["counts"]["done"] == 7)
        trends = running.get("/v1/risk/trends", params={"window": "1h", "last": 2000}).json()
        assert (trends["max_windows"], trends["cut"]) == (24, True)
        assert [w["start"] for w in trends["topics"]["business"]] == [T0, T0 + 3600, T0 + 7200]
        daily = running.get("/v1/risk/trends", params={"window": "1d"}).json()
        assert daily["cut"] is False and len(daily["topics"]["business"]) == 22


def far_apart_batches(batches: int, size: int) -> list[list[dict]]:
    """Valid items scattered over 2000-01-01 … now, so every one is in a window of its own."""
    rng = random.Random(7)
    now = time.time()
    words = ("bank fraud", "phone great", "match report")
    return [
        [
            {"id": f"f{b}-{i}", "time": rng.uniform(EARLIEST, now), "text": words[i % 3]}
            for i in range(size)
        ]
        for b in range(batches)
    ]


def healthz_seconds(http: httpx.Client) -> float:
    started = time.perf_counter()
    assert http.get("/healthz").status_code == 200
    return time.perf_counter() - started


def test_a_flood_of_far_apart_and_invalid_times_keeps_memory_bounded(
    folder: RiskFolder, tiny_bundles: list[Path]
):
    monitor = Monitor(folder, keyword_classifier())
    settings = ServeSettings(bundles=(tiny_bundles[0],), auth=False)
    with (
        serve_app(create_risk_app(monitor, settings, interval_s=0.05)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert http.get("/v1/risk/trends").status_code == 200
        before = rss_mib()
        slowest = 0.0
        for batch in far_apart_batches(8, 1000):
            assert http.post("/v1/risk/items", json={"items": batch}).json()["accepted"] == 1000
            bad = [{"id": f"b{i}", "time": BAD_TIMES[i % 7], "text": "t"} for i in range(1000)]
            body = json.dumps({"items": bad})  # NaN, 1e300, a 400-digit integer… as sent
            answer = http.post("/v1/risk/items", content=body, headers=JSON)
            assert answer.status_code == 422
            slowest = max(slowest, healthz_seconds(http))
        deadline = time.monotonic() + 60
        while http.get("/v1/risk/status").json()["items"]["done"] < 8000:
            assert time.monotonic() < deadline, "the background loop did not catch up"
            slowest = max(slowest, healthz_seconds(http))
            time.sleep(0.1)
        trends = http.get("/v1/risk/trends", params={"window": "5m", "last": 2000}).json()
        time.sleep(1.0)  # more background passes over the scattered windows
        slowest = max(slowest, healthz_seconds(http))
        grown = rss_mib() - before
    assert trends["cut"] is True
    assert all(len(series) <= 2000 for series in trends["topics"].values())
    assert grown < RSS_GROWTH_CEILING, f"RSS grew by {grown:.0f} MiB"
    assert slowest < HEALTHZ_CEILING_S, f"/healthz took {slowest:.2f} s"
    monitor.close()


def test_rows_stored_before_the_time_bounds_existed_are_left_out(
    folder: RiskFolder, tiny_bundles: list[Path]
):
    store = ItemStore(folder.database)  # what an earlier version let in
    far = [Item("future", 1e300, "", "bank fraud"), Item("past", -1e18, "", "bank fraud")]
    store.add([*far, Item("now", T0, "", "bank fraud")])
    store.close()
    with start(folder, tiny_bundles[0]) as running:
        wait_for(lambda: running.get("/v1/risk/items").json()["counts"]["done"] == 3)
        started = time.perf_counter()
        trends = running.get("/v1/risk/trends", params={"window": "5m", "last": 2000}).json()
        assert time.perf_counter() - started < HEALTHZ_CEILING_S
        assert trends["cut"] is True
        assert [w["start"] for w in trends["topics"]["business"]] == [T0]
        assert running.get("/healthz").status_code == 200
