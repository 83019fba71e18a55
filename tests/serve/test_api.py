"""The API's answers: predictions, options, model info, health, metrics, docs, audit, masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizlm.predictor import load
from bizlm.registry.db import AuditRow, transaction
from bizlm.registry.keys import KeyStore
from bizlm.registry.store import Registry


def test_predictions_match_the_python_api(open_client, tiny_bundles: list[Path]):
    texts = ["good great flight", "rude slow crew", "the gate"]
    answer = open_client.post("/v1/models/tiny-1/predict", json={"texts": texts})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["model"], body["version"]) == ("tiny-1", "bundle")
    expected = load(tiny_bundles[0]).predict(texts)
    for got, want in zip(body["predictions"], expected, strict=True):
        assert got["label"] == want["label"]
        assert got["score"] == pytest.approx(want["score"], abs=1e-5)
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)
        assert "top_k" not in got and "explanation" not in got


def test_single_text_top_k_and_no_probabilities(open_client):
    answer = open_client.post(
        "/v1/models/tiny-1/predict",
        json={"text": "good", "top_k": 2, "return_probabilities": False},
    ).json()
    (prediction,) = answer["predictions"]
    assert "probabilities" not in prediction
    assert len(prediction["top_k"]) == 2
    assert prediction["top_k"][0] == {"label": prediction["label"], "score": prediction["score"]}
    assert prediction["top_k"][0]["score"] >= prediction["top_k"][1]["score"]
    many = open_client.post("/v1/models/tiny-1/predict", json={"text": "good", "top_k": 99})
    assert len(many.json()["predictions"][0]["top_k"]) == 3  # capped at the number of labels


@pytest.mark.parametrize("method", ["occlusion", "integrated_gradients"])
def test_explain(open_client, method: str):
    answer = open_client.post(
        "/v1/models/tiny-1/predict",
        json={"texts": ["good great flight"], "explain": True, "explain_method": method},
    )
    explanation = answer.json()["predictions"][0]["explanation"]
    assert explanation["method"] == method
    assert explanation["label"] == answer.json()["predictions"][0]["label"]
    assert [a["token"] for a in explanation["attributions"]] == ["good", "great", "flight"]
    assert all(isinstance(a["attribution"], float) for a in explanation["attributions"])


def test_too_many_texts_to_explain(make_client, tiny_bundles):
    client = make_client(bundles=(tiny_bundles[0],), auth=False, max_explain_texts=1)
    answer = client.post("/v1/models/tiny-1/predict", json={"texts": ["a", "b"], "explain": True})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "too_many_texts_to_explain"


def test_model_list_and_info(open_client, tiny_bundles):
    listed = open_client.get("/v1/models").json()["models"]
    assert [m["name"] for m in listed] == ["tiny-1"]
    info = open_client.get("/v1/models/tiny-1").json()
    assert info == listed[0]
    assert info["labels"] == ["negative", "neutral", "positive"]
    assert set(info["metrics"]) >= {"accuracy", "macro_f1"}
    assert "per_class" not in info["metrics"]


def test_registry_models_are_served_with_their_version(make_client, registry_url, tiny_bundles):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0])
    registry.add("tweets", tiny_bundles[1], stage="production")
    client = make_client(auth=False)
    info = client.get("/v1/models/tweets").json()
    assert (info["version"], info["stage"]) == ("2", "production")
    answer = client.post("/v1/models/tweets/predict", json={"text": "good"}).json()
    assert answer["version"] == "2"


def test_health_readiness_metrics_and_docs(open_client):
    assert open_client.get("/healthz").json() == {"status": "ok", "models": []}
    assert open_client.get("/readyz").json() == {
        "status": "ready",
        "models": ["tiny-1"],
        "versions": {"tiny-1": {"version": "bundle", "failed": None}},
    }
    open_client.post("/v1/models/tiny-1/predict", json={"text": "good"})
    open_client.post("/v1/models/ghost/predict", json={"text": "good"})
    metrics = open_client.get("/metrics").text
    assert 'bizlm_requests_total{model="tiny-1",status="200"} 1.0' in metrics
    assert 'bizlm_requests_total{model="-",status="404"} 1.0' in metrics
    for name in ("bizlm_request_latency_seconds", "bizlm_batch_size", "bizlm_queue_depth"):
        assert f"# TYPE {name}" in metrics
    assert open_client.get("/docs").status_code == 200
    schema = open_client.get("/openapi.json").json()
    assert "/v1/models/{name}/predict" in schema["paths"]


def test_audit_log_to_file_and_database(
    make_client, tiny_bundles, registry_url: str, tmp_path: Path
):
    key = KeyStore(registry_url).create("app", ["predict"])[0]
    audit = tmp_path / "audit.jsonl"
    client = make_client(bundles=(tiny_bundles[0],), audit_path=audit, audit_db=True)
    text = "good, mail me at jo@example.com"
    client.post("/v1/models/tiny-1/predict", json={"text": text}, headers={"X-API-Key": key})
    client.post("/v1/models/tiny-1/predict", json={"text": text})
    client.__exit__(None, None, None)  # stopping the app flushes the audit log
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["key_name"], e["status"]) for e in events] == [("app", 200), (None, 401)]
    first = events[0]
    assert (first["model"], first["version"], first["n_texts"]) == ("tiny-1", "bundle", 1)
    assert first["latency_ms"] > 0 and first["at"] and first["texts"] is None
    assert "jo@example.com" not in audit.read_text()
    with transaction(registry_url) as session:
        rows = session.query(AuditRow).order_by(AuditRow.id).all()
    assert [(r.key_name, r.status, r.model) for r in rows] == [
        ("app", 200, "tiny-1"),
        (None, 401, None),
    ]


def test_audit_texts_are_masked(make_client, tiny_bundles, tmp_path: Path):
    audit = tmp_path / "audit.jsonl"
    client = make_client(bundles=(tiny_bundles[0],), auth=False, audit_path=audit, audit_texts=True)
    client.post("/v1/models/tiny-1/predict", json={"text": "call +44 20 7946 0958 now"})
    client.__exit__(None, None, None)
    (event,) = [json.loads(line) for line in audit.read_text().splitlines()]
    assert event["texts"] == ["call [PHONE] now"]


def test_mask_input_hides_personal_data_from_the_model(make_client, tiny_bundles):
    masked = make_client(bundles=(tiny_bundles[0],), auth=False, mask_input=True)
    body = {"text": "good 4111 1111 1111 1111", "explain": True}
    tokens = [
        a["token"]
        for a in masked.post("/v1/models/tiny-1/predict", json=body).json()["predictions"][0][
            "explanation"
        ]["attributions"]
    ]
    assert tokens == ["good", "[CARD]"]
