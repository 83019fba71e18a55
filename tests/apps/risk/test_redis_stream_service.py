"""`bizlm app risk serve --redis`: the service consumes the stream; bad options exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from bizlm.apps.risk.broker import StreamConsumer, connect
from bizlm.apps.risk.config import RiskFolder
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.service import create_risk_app
from bizlm.apps.risk.workspace import InitOptions, init_folder
from bizlm.cli import run
from bizlm.serve.settings import ServeSettings
from tests.apps.risk import test_redis_stream as real_redis
from tests.apps.risk.conftest import keyword_classifier, stream
from tests.apps.risk.test_redis_stream import RedisServer, free_port, settings
from tests.apps.risk.test_service import wait_for

server = real_redis.server  # a redis-server on a free port, stopped after the test


def error(capsys: pytest.CaptureFixture) -> str:
    return " ".join(capsys.readouterr().err.split())


def test_the_service_classifies_stream_items_and_shows_the_consumer_counts(
    server: RedisServer, folder: RiskFolder, tiny_bundles: list[Path]
):
    client = redis.Redis(port=server.port)
    items = stream(2, 5, {})
    for item in items:
        client.xadd("news", {"item": json.dumps(item)})
    client.xadd("news", {"item": "{}"})
    monitor = Monitor(folder, keyword_classifier())
    chosen = settings(server)
    serve_settings = ServeSettings(
        bundles=(tiny_bundles[0],), auth=False, registry_url=f"sqlite:///{folder.root / 'keys.db'}"
    )
    broker = StreamConsumer(monitor, chosen, connect(chosen))
    app = create_risk_app(monitor, serve_settings, interval_s=0.05, broker=broker)
    with TestClient(app) as api:
        wait_for(lambda: api.get("/v1/risk/status").json()["items"]["done"] == 10)
        broker = api.get("/v1/risk/status").json()["broker"]
        assert (broker["read"], broker["stored"], broker["dead_lettered"]) == (11, 10, 1)
        assert broker["connected"] is True
    assert client.xlen("news:dead") == 1
    assert client.xpending("news", "risk")["pending"] == 0
    monitor.close()


def test_serve_with_redis_down_or_half_the_options_exits_2(folder: RiskFolder, capsys):
    root = str(folder.root)
    down = f"redis://127.0.0.1:{free_port()}/0"
    assert run(["app", "risk", "serve", root, "--redis", down, "--stream", "news"]) == 2
    message = error(capsys)
    assert f"--redis {down}: Redis does not answer" in message
    assert "Start Redis (redis-server) or fix the URL" in message
    assert run(["app", "risk", "serve", root, "--redis", down]) == 2
    assert "--redis and --stream go together" in error(capsys)
    assert run(["app", "risk", "serve", root, "--stream", "news"]) == 2
    assert "--redis and --stream go together" in error(capsys)
    bad_idle = ["--redis", down, "--stream", "news", "--claim-idle", "soon"]
    assert run(["app", "risk", "serve", root, *bad_idle]) == 2
    assert "--claim-idle: 'soon' is not a duration" in error(capsys)
    assert run(["app", "risk", "serve", root, "--redis", "tcp://x", "--stream", "news"]) == 2
    assert "--redis tcp://x: Redis URL must specify one of the following schemes" in error(capsys)


def test_consumers_of_separate_monitors_share_one_group(server: RedisServer, tmp_path: Path):
    monitors = [
        Monitor(init_folder(tmp_path / name, InitOptions()), keyword_classifier())
        for name in ("east", "west")
    ]
    consumers = [
        StreamConsumer(m, settings(server, consumer=n), connect(settings(server)))
        for m, n in zip(monitors, ("east", "west"), strict=True)
    ]
    client = redis.Redis(port=server.port)
    items = stream(4, 10, {})
    for item in items:
        client.xadd("news", {"item": json.dumps(item)})
    while sum(consumer.poll() for consumer in consumers):
        pass
    held = [{row["id"] for row in m.store.latest(1000)} for m in monitors]
    assert held[0] and held[1] and not held[0] & held[1]
    assert held[0] | held[1] == {item["id"] for item in items}
    for monitor in monitors:
        monitor.close()
