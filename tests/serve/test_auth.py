"""API keys: stored hashed, shown once, scopes, rate limits, revocation, --no-auth rules.

Also the audit file, which is readable by its owner only.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from bizlm.cli import run
from bizlm.registry.db import ApiKeyRow, RegistryError, transaction
from bizlm.registry.keys import KeyStore, hash_key
from bizlm.serve.audit import AuditLog
from bizlm.serve.settings import ServeError, ServeSettings


def test_keys_are_stored_hashed_and_shown_once(registry_url: str, capsys):
    assert run(["keys", "create", "--name", "app", "--registry", registry_url]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("bzk_")
    with transaction(registry_url) as session:
        rows = session.query(ApiKeyRow).all()
    assert [r.key_hash for r in rows] == [hash_key(key)]
    assert key not in json.dumps([r.__dict__ for r in rows], default=str)
    assert run(["keys", "list", "--json", "--registry", registry_url]) == 0
    listed = capsys.readouterr().out
    assert key not in listed and json.loads(listed)[0]["scopes"] == ["predict"]


def test_key_store_rules(registry_url: str):
    store = KeyStore(registry_url)
    store.create("app", ["predict"])
    with pytest.raises(RegistryError, match="exists already"):
        store.create("app", ["predict"])
    with pytest.raises(RegistryError, match="scopes"):
        store.create("other", ["root"])
    with pytest.raises(RegistryError, match="rate limit"):
        store.create("other", ["predict"], rate_limit=0)
    store.revoke("app")
    assert store.list() == [] and len(store.list(include_revoked=True)) == 1
    store.create("app", ["predict"])  # the name is free again
    with pytest.raises(RegistryError, match="No active key"):
        store.revoke("ghost")


@pytest.fixture()
def keys(registry_url: str) -> dict[str, str]:
    store = KeyStore(registry_url)
    return {
        "predict": store.create("app", ["predict"])[0],
        "admin": store.create("ops", ["admin"])[0],
        "slow": store.create("slow", ["predict"], rate_limit=0.5, burst=2)[0],
    }


@pytest.fixture()
def secured(make_client, tiny_bundles: list[Path], keys: dict[str, str]):
    return make_client(bundles=(tiny_bundles[0],))


BODY = {"text": "good flight"}


def test_missing_or_wrong_key_is_401(secured, keys):
    missing = secured.post("/v1/models/tiny-1/predict", json=BODY)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = keys["predict"][:-4] + "AAAA"
    for headers in ({"Authorization": f"Bearer {wrong}"}, {"X-API-Key": "not-a-key"}):
        answer = secured.post("/v1/models/tiny-1/predict", json=BODY, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_api_key"


def test_valid_key_in_either_header_is_accepted(secured, keys):
    for headers in ({"Authorization": f"Bearer {keys['predict']}"}, {"X-API-Key": keys["admin"]}):
        assert secured.post("/v1/models/tiny-1/predict", json=BODY, headers=headers).is_success


def test_key_without_the_scope_is_403(secured, keys):
    answer = secured.post("/v1/admin/reload", headers={"X-API-Key": keys["predict"]})
    assert answer.status_code == 403
    assert answer.json()["error"] == {
        "code": "forbidden",
        "message": "Key 'app' lacks the 'admin' scope.",
    }
    assert secured.post("/v1/admin/reload", headers={"X-API-Key": keys["admin"]}).is_success


def test_over_the_rate_limit_is_429_with_retry_after(secured, keys):
    headers = {"X-API-Key": keys["slow"]}
    statuses = [
        secured.post("/v1/models/tiny-1/predict", json=BODY, headers=headers).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]  # a burst of 2, then 0.5 requests/s
    limited = secured.post("/v1/models/tiny-1/predict", json=BODY, headers=headers)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    other = secured.post(
        "/v1/models/tiny-1/predict", json=BODY, headers={"X-API-Key": keys["predict"]}
    )
    assert other.status_code == 200  # limits are per key


def test_revoked_key_stops_working_after_the_next_poll(
    make_client, tiny_bundles, keys, registry_url: str
):
    client = make_client(bundles=(tiny_bundles[0],), poll_interval_s=0.1)
    headers = {"X-API-Key": keys["predict"]}
    assert client.get("/v1/models", headers=headers).status_code == 200
    KeyStore(registry_url).revoke("app")
    import time

    deadline = time.monotonic() + 5
    while client.get("/v1/models", headers=headers).status_code == 200:
        assert time.monotonic() < deadline, "revoked key still accepted"
        time.sleep(0.1)
    assert client.get("/v1/models", headers=headers).status_code == 401


def test_health_and_metrics_need_no_key(secured):
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200
    assert secured.get("/metrics").status_code == 200


def test_no_auth_only_on_loopback(capsys):
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        ServeSettings(host=host, auth=False).check()
    for host in ("0.0.0.0", "192.168.1.5", "example.com"):
        with pytest.raises(ServeError, match="loopback"):
            ServeSettings(host=host, auth=False).check()
    assert run(["serve", "--no-auth", "--host", "0.0.0.0"]) == 2
    assert "--no-auth is only allowed on a loopback host" in capsys.readouterr().err


def test_the_audit_file_is_readable_by_its_owner_only(tmp_path: Path):
    fresh, older = tmp_path / "logs" / "audit.jsonl", tmp_path / "older.jsonl"
    older.write_text("")
    older.chmod(0o644)  # as written by an earlier version
    previous = os.umask(0o022)
    try:
        for path in (fresh, older):
            audit = AuditLog(path)
            audit.record({"key_name": "app", "status": 200})
            audit.close()
    finally:
        os.umask(previous)
    for path in (fresh, older):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text())["key_name"] == "app"
