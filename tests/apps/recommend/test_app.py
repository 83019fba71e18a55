"""Train a tiny application, then rank from Python, the CLI and POST /v1/recommend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bizlm.apps.recommend.layout import AppLayout
from bizlm.apps.recommend.recommender import Recommender, Request
from bizlm.cli import run
from bizlm.errors import BundleError, DataError
from tests.apps.recommend.conftest import shrink_recipe


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BIZLM_REGISTRY", raising=False)


@pytest.fixture(scope="module")
def recommender(trained_app: Path) -> Recommender:
    return Recommender(trained_app)


def test_train_writes_models_and_held_out_figures(trained_app: Path) -> None:
    layout = AppLayout(trained_app)
    report = json.loads(layout.report.read_text())
    assert report["split"]["test_users"] == 24
    assert report["test"]["users"] == 10
    assert 0.0 <= report["test"]["ndcg10"] <= 1.0 and 0.0 <= report["test"]["auc"] <= 1.0
    assert set(report["ranker"]) >= {"model", "text_score", "collaborative"}
    info = json.loads((layout.scorer / "bizlm.json").read_text())
    assert info["recipe"]["task"]["type"] == "score"
    assert info["recipe"]["method"]["name"] == "lora"
    assert json.loads((layout.bi_encoder / "bizlm.json").read_text())["kind"] == "bi-encoder"


def test_known_user_gets_unseen_items_with_reasons(recommender: Recommender) -> None:
    answer = recommender.recommend(Request(user="u0", k=5))
    seen = {recommender.item_ids[i] for i in recommender.histories[recommender.user_of["u0"]]}
    assert answer["cold_start"] is False and len(answer["items"]) == 5
    assert not seen & {result["item"] for result in answer["items"]}
    scores = [result["score"] for result in answer["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(result["because"][0]["item"] in seen for result in answer["items"])


def test_candidates_filter_seen_and_report_unknown(recommender: Recommender) -> None:
    history = recommender.histories[recommender.user_of["u0"]]
    seen_item = recommender.item_ids[history[0]]
    answer = recommender.recommend(
        Request(user="u0", candidates=[seen_item, "g1-0", "g2-0", "nope"], k=10)
    )
    assert {r["item"] for r in answer["items"]} == {"g1-0", "g2-0"} - {
        recommender.item_ids[i] for i in history
    }
    assert answer["ignored"]["unknown_candidates"] == ["nope"]
    assert answer["ignored"]["seen_candidates"] == 1
    kept = recommender.recommend(Request(user="u0", candidates=[seen_item], exclude_seen=False))
    assert [r["item"] for r in kept["items"]] == [seen_item]


def test_new_user_without_history_gets_popular_items(recommender: Recommender) -> None:
    answer = recommender.recommend(Request(user="someone-new", k=3))
    assert answer["cold_start"] is True and answer["known_user"] is False
    counts = [recommender.behaviour.counts[recommender.item_of[r["item"]]] for r in answer["items"]]
    assert (
        counts == sorted(counts, reverse=True) and counts[0] == recommender.behaviour.counts.max()
    )


def test_new_user_with_recent_items(recommender: Recommender) -> None:
    answer = recommender.recommend(Request(recent_items=["g1-0", "ghost"], k=3))
    assert answer["cold_start"] is False
    assert all(r["because"][0]["item"] == "g1-0" for r in answer["items"])
    assert "g1-0" not in {r["item"] for r in answer["items"]}
    assert answer["ignored"]["unknown_recent_items"] == ["ghost"]


def test_only_unknown_candidates_is_an_error(recommender: Recommender) -> None:
    with pytest.raises(DataError, match="None of the 2 candidates"):
        recommender.recommend(Request(user="u0", candidates=["x", "y"]))


def test_cli_rank_json_and_errors(trained_app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["app", "recommend", "rank", str(trained_app), "--user", "u1", "--k", "4", "--json"])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert len(answer["items"]) == 4 and answer["user"] == "u1"
    assert run(["app", "recommend", "rank", str(trained_app.parent / "none"), "--user", "u1"]) == 2
    assert "no recipe.yaml" in capsys.readouterr().err


def test_untrained_application_is_a_clear_error(tmp_path: Path, app_files) -> None:
    from bizlm.apps.recommend.setup import init_application

    events, items = app_files
    init_application(tmp_path / "fresh", interactions=events, items=items)
    with pytest.raises(BundleError, match="Run `bizlm app recommend train"):
        Recommender(tmp_path / "fresh")


def test_http_recommend(trained_app: Path) -> None:
    from bizlm.apps.recommend.service import create_recommend_app
    from bizlm.serve.settings import ServeSettings

    app = create_recommend_app(trained_app, ServeSettings(auth=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post("/v1/recommend", json={"user": "u2", "k": 3})
        assert answer.status_code == 200 and len(answer.json()["items"]) == 3
        cold = client.post("/v1/recommend", json={"recent_items": []}).json()
        assert cold["cold_start"] is True
        bad = client.post("/v1/recommend", json={"user": "u2", "candidates": ["x"]})
        assert (
            bad.status_code == 422 and "None of the 1 candidates" in bad.json()["error"]["message"]
        )
        typo = client.post("/v1/recommend", json={"usr": "u2"})
        assert typo.status_code == 422 and typo.json()["error"]["code"] == "invalid_request"
        assert client.post("/v1/recommend", json={"user": "u2", "k": 0}).status_code == 422
        assert 'model="recommend"' in client.get("/metrics").text


def test_http_recommend_needs_a_key(trained_app: Path, tmp_path: Path) -> None:
    from bizlm.apps.recommend.service import create_recommend_app
    from bizlm.registry.keys import KeyStore
    from bizlm.serve.settings import ServeSettings

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    secret = KeyStore(url).create("app", scopes=["predict"])[0]
    app = create_recommend_app(trained_app, ServeSettings(registry_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/v1/recommend", json={"user": "u2"}).status_code == 401
        headers = {"X-API-Key": secret}
        assert client.post("/v1/recommend", json={"user": "u2"}, headers=headers).status_code == 200


def test_cli_init_and_train(
    tmp_path: Path, app_files, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events, items = app_files
    folder = tmp_path / "cli-app"
    init = ["app", "recommend", "init", str(folder), "--interactions", str(events)]
    assert run([*init, "--items", str(items)]) == 0
    assert run([*init, "--items", str(items)]) == 2
    assert "already exists" in capsys.readouterr().err
    shrink_recipe(folder / "recipe.yaml", tiny_model_dir)
    assert run(["app", "recommend", "train", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"]["validation_users"] == 24 and report["test"]["users"] == 10


def test_only_the_shortlist_is_cross_encoded(
    recommender: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored: list[int] = []
    text_scores = recommender.models.text_scores

    def counting(history: list[int], candidates: np.ndarray) -> np.ndarray:
        scored.append(len(candidates))
        return text_scores(history, candidates)

    monkeypatch.setattr(recommender.models, "text_scores", counting)
    monkeypatch.setattr(recommender.recipe.ranker, "rerank_top", 4)
    everything = [item for item in recommender.item_ids if item.startswith("g")]
    answer = recommender.recommend(Request(user="u0", candidates=everything, k=3))
    assert scored == [4] and len(answer["items"]) == 3
    assert answer["candidates"] > 4
    wider = recommender.recommend(Request(user="u0", candidates=everything, k=6))
    assert scored[-1] == 6 and len(wider["items"]) == 6  # never fewer than k are ranked
