"""The chat API on the model server: answers, masked storage, bad messages, feedback export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import bizlm
from bizlm.apps.support.calibration import scale
from bizlm.apps.support.service import create_support_app
from bizlm.cli import run
from bizlm.serve.settings import ServeSettings
from tests.serve.conftest import batches_run, forbid_server_loading


@pytest.fixture()
def client(trained_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    app, store = create_support_app(
        trained_dir, ServeSettings(auth=False), tmp_path / "conversations.db"
    )
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def _chat(client: TestClient, message: object, session_id: str | None = None):
    return client.post("/v1/support/chat", json={"message": message, "session_id": session_id})


def test_chat_answers_and_keeps_the_session(client: TestClient) -> None:
    first = _chat(client, "bag gate ticket")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["kind"] in {"template", "faq", "handoff"}
    assert body["handoff"] == (body["kind"] == "handoff")
    assert body["sources"][0]["id"] == "bag"
    second = _chat(client, "seat plane today", body["session_id"])
    assert second.json()["session_id"] == body["session_id"]
    messages = client.get(f"/v1/support/conversations/{body['session_id']}").json()["messages"]
    assert [m["role"] for m in messages] == ["customer", "desk", "customer", "desk"]
    assert client.get("/v1/models/intent").status_code == 200  # the model server's routes


def test_stored_messages_are_masked(client: TestClient, tmp_path: Path) -> None:
    reply = _chat(client, "my card 4111 1111 1111 1111 and mail jo@example.com bag").json()
    with sqlite3.connect(tmp_path / "conversations.db") as db:
        query = "SELECT text FROM messages WHERE session_id = ?"
        rows = db.execute(query, (reply["session_id"],)).fetchall()
    stored = " ".join(r[0] for r in rows)
    assert "[CARD]" in stored and "[EMAIL]" in stored
    assert "4111" not in stored and "jo@example.com" not in stored


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("", "invalid_request"),
        ("   ", "invalid_request"),
        ("x" * 1001, "text_too_long"),
        (42, "invalid_request"),
        (["a list"], "invalid_request"),
        (None, "invalid_request"),
    ],
)
def test_bad_messages_get_422(client: TestClient, message: object, code: str) -> None:
    response = _chat(client, message)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code
    assert "message" in error["message"]


def test_handoff_returns_the_conversation(trained_dir: Path, tmp_path: Path) -> None:
    app, store = create_support_app(trained_dir, ServeSettings(auth=False), tmp_path / "c.db")
    app.state.support_agent.project.settings.faq.min_similarity = 1.01
    app.state.support_agent.threshold = 1.01
    with TestClient(app) as test_client:
        first = _chat(test_client, "good nice").json()
        second = _chat(test_client, "call me at 020 7946 0958", first["session_id"]).json()
    store.close()
    assert second["handoff"] and second["intent"] == "out_of_scope"
    texts = [m["text"] for m in second["conversation"]]
    assert texts[0] == "good nice" and "[PHONE]" in texts[2]
    count = sqlite3.connect(tmp_path / "c.db").execute("SELECT COUNT(*) FROM handoffs").fetchone()
    assert count[0] == 2


def test_feedback_is_stored_and_exported(
    client: TestClient, trained_dir: Path, tmp_path: Path
) -> None:
    up = _chat(client, "bag gate ticket").json()
    down = _chat(client, "good nice friendly").json()
    unrated = _chat(client, "seat today").json()
    rate_up = {"message_id": up["message_id"], "rating": "up"}
    assert client.post("/v1/support/feedback", json=rate_up).status_code == 200
    corrected = {"message_id": down["message_id"], "rating": "down", "correct_intent": "praise"}
    assert client.post("/v1/support/feedback", json=corrected).status_code == 200
    bare_down = {"message_id": unrated["message_id"], "rating": "down"}
    assert client.post("/v1/support/feedback", json=bare_down).status_code == 200
    missing = client.post("/v1/support/feedback", json={"message_id": 999, "rating": "up"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "message_not_found"
    wrong = client.post("/v1/support/feedback", json={**corrected, "correct_intent": "nope"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_intent"
    bad_rating = client.post("/v1/support/feedback", json={**corrected, "rating": "meh"})
    assert bad_rating.status_code == 422

    output = tmp_path / "feedback.jsonl"
    database = ["--database", str(tmp_path / "conversations.db")]
    assert run(["app", "support", "export-feedback", str(trained_dir), str(output), *database]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    expected = [{"text": "good nice friendly", "label": "praise"}]
    if up["intent"] != "out_of_scope":
        expected.insert(0, {"text": "bag gate ticket", "label": up["intent"]})
    assert rows == expected
    updated = bizlm.update(
        trained_dir / "build" / "intent", output, tmp_path / "intent-2", strategy="replay"
    )
    assert updated.bundle.is_dir()


def test_a_corrected_reply_is_stored_masked(client: TestClient, tmp_path: Path) -> None:
    reply = _chat(client, "bag gate ticket").json()
    corrected = {
        "message_id": reply["message_id"],
        "rating": "down",
        "correct_reply": "Gate 7; mail jo@example.com.",
    }
    assert client.post("/v1/support/feedback", json=corrected).status_code == 200
    with sqlite3.connect(tmp_path / "conversations.db") as db:
        stored = db.execute("SELECT rating, correct_reply FROM feedback").fetchall()
    assert stored == [("down", "Gate 7; mail [EMAIL].")]


@pytest.mark.parametrize(
    ("change", "status", "code", "words"),
    [
        ({"correct_reply": ""}, 422, "invalid_request", "correct_reply"),
        ({"correct_reply": "   "}, 422, "invalid_request", "only spaces"),
        ({"correct_reply": 42}, 422, "invalid_request", "correct_reply"),
        ({"correct_reply": "x" * 1001}, 422, "text_too_long", "correct_reply"),
        ({"rating": "up"}, 422, "invalid_request", "rating 'down'"),
        ({"message_id": "customer"}, 404, "message_not_found", "No desk reply has id"),
        ({"message_id": 10**6}, 404, "message_not_found", "No desk reply has id"),
    ],
)
def test_bad_corrected_replies_are_refused(
    client: TestClient, tmp_path: Path, change: dict, status: int, code: str, words: str
) -> None:
    reply = _chat(client, "bag gate ticket").json()
    body = {"message_id": reply["message_id"], "rating": "down", "correct_reply": "Gate 7."}
    if change.get("message_id") == "customer":  # the customer's message just before the reply
        change = {"message_id": reply["message_id"] - 1}
    response = client.post("/v1/support/feedback", json={**body, **change})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"]
    with sqlite3.connect(tmp_path / "conversations.db") as db:
        assert db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)


def test_auth_is_required_when_on(trained_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BIZLM_REGISTRY", raising=False)
    app, store = create_support_app(trained_dir, ServeSettings(), tmp_path / "c.db")
    with TestClient(app) as test_client:
        response = _chat(test_client, "bag gate")
        page = test_client.get("/support")
    store.close()
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    assert page.status_code == 200 and "<form" in page.text


def test_the_intent_model_is_loaded_once_and_answers_through_the_batcher(
    trained_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_server_loading(monkeypatch)
    app, store = create_support_app(trained_dir, ServeSettings(auth=False), tmp_path / "c.db")
    agent = app.state.support_agent
    with TestClient(app) as client:
        served = agent.intents.served()
        direct = served.current.predictor
        text = "bag gate ticket"
        reply = _chat(client, text).json()
        calibrated = scale(direct.predict_proba([text]), agent.temperature)[0]
        assert reply["confidence"] == pytest.approx(float(calibrated.max()), abs=1e-3)
        assert batches_run(client.get("/metrics").text, "intent") >= 1  # the chat ran a batch
    store.close()
