"""A real uvicorn server on 127.0.0.1: micro-batching, the Python client, hot reload."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bizlm.client import Client, ClientError
from bizlm.registry.keys import KeyStore
from bizlm.registry.store import Registry
from bizlm.serve.app import create_app
from bizlm.serve.settings import ServeSettings
from tests.live_server import serve_app


@contextlib.contextmanager
def live_server(settings: ServeSettings) -> Iterator[str]:
    """Run the model server on a free loopback port; yield its URL."""
    with serve_app(create_app(settings)) as url:
        yield url


def batch_sizes(url: str, model: str) -> tuple[float, float, float]:
    """(batches, texts, batches of one text) from the server's Prometheus metrics."""
    text = httpx.get(f"{url}/metrics").text
    values = {}
    for family in text_string_to_metric_families(text):
        if family.name == "bizlm_batch_size":
            for sample in family.samples:
                if sample.labels.get("model") == model:
                    values[(sample.name, sample.labels.get("le"))] = sample.value
    return (
        values[("bizlm_batch_size_count", None)],
        values[("bizlm_batch_size_sum", None)],
        values[("bizlm_batch_size_bucket", "1.0")],
    )


def test_concurrent_requests_are_micro_batched(tiny_bundles: list[Path], registry_url: str):
    settings = ServeSettings(
        registry_url=registry_url,
        bundles=(tiny_bundles[0],),
        auth=False,
        max_batch_size=16,
        max_wait_ms=50,
    )
    with live_server(settings) as url, ThreadPoolExecutor(12) as pool:
        clients = [Client(url) for _ in range(12)]

        def one(index: int) -> str:
            return clients[index % 12].predict("tiny-1", f"good flight {index}")[0]["label"]

        labels = list(pool.map(one, range(48)))
        batches, texts, singles = batch_sizes(url, "tiny-1")
        for client in clients:
            client.close()
    assert len(labels) == 48
    assert texts == 48
    assert batches < 48 and singles < batches  # some batches held more than one request
    assert texts / batches > 1


def test_client_reports_the_servers_error_message(tiny_bundles, registry_url: str):
    key = KeyStore(registry_url).create("app", ["predict"])[0]
    settings = ServeSettings(registry_url=registry_url, bundles=(tiny_bundles[0],))
    with live_server(settings) as url:
        with Client(url, key) as client:
            assert [m["name"] for m in client.models()] == ["tiny-1"]
            assert client.model("tiny-1")["labels"] == ["negative", "neutral", "positive"]
            (prediction,) = client.predict("tiny-1", "good", top_k=1)
            assert prediction["top_k"][0]["label"] == prediction["label"]
            with pytest.raises(ClientError, match="No model named 'ghost'") as missing:
                client.predict("ghost", ["a"])
            assert (missing.value.status, missing.value.code) == (404, "model_not_found")
        with Client(url, "bzk_000000000000_wrongwrongwrongwrongwrong") as stranger:
            with pytest.raises(ClientError, match="401") as refused:
                stranger.models()
            assert refused.value.code == "invalid_api_key"
    with pytest.raises(ClientError, match="Cannot reach"):
        Client(url, timeout=2).models()


def test_hot_reload_switches_versions_without_failed_requests(tiny_bundles, registry_url: str):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    registry.add("tweets", tiny_bundles[1])
    settings = ServeSettings(registry_url=registry_url, auth=False, poll_interval_s=0.2)
    answers: list[list[tuple[int, str]]] = [[] for _ in range(4)]
    stop = threading.Event()

    def keep_asking(index: int, url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                response = http.post("/v1/models/tweets/predict", json={"text": "good flight"})
                version = response.json().get("version", "") if response.is_success else ""
                answers[index].append((response.status_code, version))

    with live_server(settings) as url:
        threads = [threading.Thread(target=keep_asking, args=(i, url)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        registry.promote("tweets", 2)
        deadline = time.monotonic() + 20
        while not all(a and a[-1][1] == "2" for a in answers):
            assert time.monotonic() < deadline, "the new version was not served"
            time.sleep(0.1)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(30)
        info = httpx.get(f"{url}/v1/models/tweets").json()
    assert info["version"] == "2"
    for sequence in answers:
        assert all(status == 200 for status, _ in sequence)
        versions = [v for _, v in sequence]
        switch = versions.index("2")
        assert switch > 0 and set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}
