"""Zero-shot and generative bundles are served like any classifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import bizlm
from bizlm.predictor import load


def test_server_answers_for_embedding_and_generative_bundles(
    zeroshot_recipe: dict, tiny_generator_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    from bizlm.serve.app import create_app
    from bizlm.serve.settings import ServeSettings

    embedding = bizlm.train(zeroshot_recipe).bundle
    generative_recipe = {**zeroshot_recipe, "output": str(tmp_path / "generative")}
    generative_recipe["method"] = {
        "name": "zeroshot",
        "mode": "generative",
        "generator": str(tiny_generator_dir),
        "template": "{text} . it is",
        "labels": {
            "positive": {"verbaliser": "good"},
            "negative": {"verbaliser": "bad"},
            "neutral": {"verbaliser": "flight"},
        },
    }
    generative = bizlm.train(generative_recipe).bundle
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    settings = ServeSettings(
        bundles=(embedding, generative), auth=False, registry_url=f"sqlite:///{tmp_path}/r.db"
    )
    texts = ["good great flight", "rude slow crew"]
    with TestClient(create_app(settings)) as client:
        for bundle in (embedding, generative):
            answer = client.post(f"/v1/models/{bundle.name}/predict", json={"texts": texts})
            assert answer.status_code == 200
            expected = load(bundle).predict(texts)
            for got, want in zip(answer.json()["predictions"], expected, strict=True):
                assert got["label"] == want["label"], (bundle.name, got, want)
                assert got["score"] == pytest.approx(want["score"], abs=1e-5)
