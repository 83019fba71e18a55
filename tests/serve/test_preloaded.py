"""Applications hand the server models they loaded already, and use them through its batcher."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import bizlm
from bizlm.serve.app import create_app
from bizlm.serve.errors import ApiError
from bizlm.serve.settings import ServeSettings
from tests.serve.conftest import forbid_server_loading


def test_a_preloaded_bundle_is_served_as_it_is_and_not_loaded_again(
    tiny_bundles: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictor = bizlm.load(tiny_bundles[0])
    forbid_server_loading(monkeypatch)
    settings = ServeSettings(
        bundles=(tiny_bundles[0],), auth=False, registry_url=f"sqlite:///{tmp_path / 'r.db'}"
    )
    app = create_app(settings, preloaded={tiny_bundles[0]: predictor})
    queued = app.state.queued_predictor("tiny-1")
    with pytest.raises(ApiError) as before_start:
        queued.predict_proba(["good"])
    assert before_start.value.status == 503
    with TestClient(app) as client:
        assert queued.served().current.predictor is predictor
        texts = ["great happy good", "awful sad bad", "plain table chair"]
        np.testing.assert_allclose(queued.predict_proba(texts), predictor.predict_proba(texts))
        assert queued.labels == predictor.labels
        body = client.post("/v1/models/tiny-1/predict", json={"texts": texts}).json()
        assert [p["label"] for p in body["predictions"]] == [
            predictor.labels[int(row.argmax())] for row in predictor.predict_proba(texts)
        ]


def test_queued_calls_from_threads_share_the_batcher(
    tiny_bundles: list[Path], tmp_path: Path
) -> None:
    settings = ServeSettings(
        bundles=(tiny_bundles[0],),
        auth=False,
        registry_url=f"sqlite:///{tmp_path / 'r.db'}",
        max_wait_ms=200,
    )
    app = create_app(settings)
    queued = app.state.queued_predictor("tiny-1")
    with TestClient(app):
        sizes: list[int] = []
        batcher = queued.served().batcher
        inner = batcher.handler
        batcher.handler = lambda jobs: sizes.append(len(jobs)) or inner(jobs)
        answers: dict[int, np.ndarray] = {}

        def ask(index: int) -> None:
            answers[index] = queued.predict_proba([f"good text number {index}"])

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(answers) == list(range(6))
        assert max(sizes) > 1  # requests from different threads ran in one batch
        direct = queued.served().current.predictor.predict_proba(["good text number 3"])
        np.testing.assert_allclose(answers[3], direct, atol=1e-4)


def test_an_unknown_served_name_is_a_404(tiny_bundles: list[Path], tmp_path: Path) -> None:
    settings = ServeSettings(
        bundles=(tiny_bundles[0],), auth=False, registry_url=f"sqlite:///{tmp_path / 'r.db'}"
    )
    app = create_app(settings)
    with TestClient(app), pytest.raises(ApiError) as missing:
        app.state.queued_predictor("nope").predict_proba(["x"])
    assert missing.value.status == 404
