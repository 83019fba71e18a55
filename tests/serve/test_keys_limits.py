"""Every key has a finite rate limit; wrong keys from one address are throttled."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from bizlm.cli import run
from bizlm.registry.db import ApiKeyRow, transaction
from bizlm.registry.keys import DEFAULT_BURST, DEFAULT_RATE_LIMIT, KeyStore
from bizlm.serve.app import create_app
from bizlm.serve.auth import MAX_KEY_FAILURES, MISS_RELOAD_INTERVAL_S, FailedKeyThrottle, KeyRing
from bizlm.serve.errors import ApiError
from bizlm.serve.settings import ServeSettings


def error_text(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rate-limit", "inf"], "rate limit must be a number of requests per second"),
        (["--rate-limit", "nan"], "rate limit must be a number of requests per second"),
        (["--rate-limit", "0"], "above 0"),
        (["--rate-limit", "-3"], "above 0"),
        (["--rate-limit", "1e300"], "at most 1000000"),
        (["--burst", "0"], "burst must be from 1 to 1000000 requests, not 0"),
        (["--rate-limit", "5", "--burst", "99999999999999999999999"], "burst must be from 1"),
    ],
)
def test_keys_create_refuses_limits_that_are_not_finite_and_positive(
    registry_url: str, capsys: pytest.CaptureFixture[str], options: list[str], message: str
):
    command = ["keys", "create", "--name", "app", "--registry", registry_url, *options]
    assert run(command) == 2
    assert message in error_text(capsys)
    assert KeyStore(registry_url).list() == []


def test_a_key_created_without_a_rate_limit_gets_the_default(
    registry_url: str, capsys: pytest.CaptureFixture[str]
):
    assert run(["keys", "create", "--name", "app", "--registry", registry_url]) == 0
    assert (
        run(["keys", "create", "--name", "fast", "--rate-limit", "2.5", "--registry", registry_url])
        == 0
    )
    capsys.readouterr()
    assert run(["keys", "list", "--json", "--registry", registry_url]) == 0
    listed = {k["name"]: (k["rate_limit"], k["burst"]) for k in json.loads(capsys.readouterr().out)}
    assert listed == {"app": (DEFAULT_RATE_LIMIT, DEFAULT_BURST), "fast": (2.5, 3)}


def store_raw_key(url: str, name: str, rate_limit: float | None, burst: int | None) -> str:
    """A key whose limits are written to the database as they are, like an older version did."""
    key, record = KeyStore(url).create(name, ["predict"])
    with transaction(url) as session:
        row = session.query(ApiKeyRow).filter_by(key_id=record.key_id).one()
        row.rate_limit, row.burst = rate_limit, burst
    return key


def statuses(client: TestClient, key: str, count: int) -> list[int]:
    headers = {"X-API-Key": key}
    return [client.get("/v1/models", headers=headers).status_code for _ in range(count)]


@pytest.mark.parametrize(
    ("rate_limit", "burst", "allowed"),
    [
        (None, None, DEFAULT_BURST),
        (float("inf"), None, DEFAULT_BURST),
        (float("inf"), 5, 5),
        (-1.0, None, DEFAULT_BURST),
        (0.0, 0, DEFAULT_BURST),
        (None, -4, DEFAULT_BURST),
    ],
)
def test_stored_keys_without_a_usable_limit_get_the_default_at_serve_time(
    registry_url: str,
    rate_limit: float | None,
    burst: int | None,
    allowed: int,
    monkeypatch: pytest.MonkeyPatch,
):
    key = store_raw_key(registry_url, "old", rate_limit, burst)
    # the buckets' clock stands still, so no token comes back however slow the requests are
    monkeypatch.setattr("bizlm.serve.auth.time", SimpleNamespace(monotonic=lambda: 100.0))
    with TestClient(create_app(ServeSettings(registry_url=registry_url))) as client:
        answers = statuses(client, key, allowed + 1)
        limited = client.get("/v1/models", headers={"X-API-Key": key})
    assert answers == [200] * allowed + [429]
    assert limited.json()["error"]["message"] == (
        f"Key 'old' is over its limit of {DEFAULT_RATE_LIMIT:g} requests/s."
    )
    assert limited.headers["retry-after"] == "1"


def test_wrong_keys_from_one_address_are_throttled_without_checking_the_key(registry_url: str):
    good = KeyStore(registry_url).create("app", ["predict"])[0]
    with TestClient(create_app(ServeSettings(registry_url=registry_url))) as client:
        wrong = [f"bzk_{index:012x}_{'x' * 30}" for index in range(MAX_KEY_FAILURES)]
        answers = [client.get("/v1/models", headers={"X-API-Key": k}).status_code for k in wrong]
        assert answers == [401] * MAX_KEY_FAILURES
        for headers in ({"X-API-Key": "bz_guess"}, {"X-API-Key": good}, {}):
            throttled = client.get("/v1/models", headers=headers)
            assert throttled.status_code == 429
            assert throttled.json()["error"]["code"] == "too_many_key_failures"
            assert 1 <= int(throttled.headers["retry-after"]) <= 60


def test_the_throttle_forgets_failures_after_its_window(registry_url: str):
    ring = KeyRing(registry_url, FailedKeyThrottle(limit=2, window_s=0.3))
    ring.refresh()
    for _ in range(2):
        with pytest.raises(ApiError, match="wrong or revoked"):
            asyncio.run(ring.authenticate("bz_guess", "10.0.0.1"))
    with pytest.raises(ApiError, match="Too many wrong API keys") as throttled:
        asyncio.run(ring.authenticate("bz_guess", "10.0.0.1"))
    assert throttled.value.status == 429
    with pytest.raises(ApiError, match="wrong or revoked"):  # another address is not throttled
        asyncio.run(ring.authenticate("bz_guess", "10.0.0.2"))
    time.sleep(0.35)
    with pytest.raises(ApiError, match="wrong or revoked"):
        asyncio.run(ring.authenticate("bz_guess", "10.0.0.1"))


def test_the_throttle_keeps_a_bounded_number_of_addresses():
    throttle = FailedKeyThrottle(limit=1, window_s=60, max_clients=3)
    for client in ("a", "b", "c", "d"):
        throttle.record(client)
    assert throttle.retry_after("a") == 0  # the least recently failing address was dropped
    assert all(throttle.retry_after(client) > 0 for client in ("b", "c", "d"))


def test_a_key_created_while_serving_works_at_once(registry_url: str):
    with TestClient(create_app(ServeSettings(registry_url=registry_url))) as client:
        time.sleep(MISS_RELOAD_INTERVAL_S)
        key = KeyStore(registry_url).create("new", ["predict"])[0]
        assert client.get("/v1/models", headers={"X-API-Key": key}).status_code == 200


def test_a_registry_outage_while_reloading_keys_is_a_401(registry_url: str):
    ring = KeyRing(registry_url)

    def unreachable() -> list:
        raise OSError("connection refused")

    ring.store.list = unreachable  # type: ignore[method-assign]
    with pytest.raises(ApiError, match="wrong or revoked") as refused:
        asyncio.run(ring.authenticate(f"bzk_{'0' * 12}_{'x' * 30}", "10.0.0.1"))
    assert refused.value.status == 401
