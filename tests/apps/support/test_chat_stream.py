"""The chat API as server-sent events, and the cited sources it links to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bizlm.apps.support.chat_stream import in_threads
from bizlm.apps.support.service import create_support_app
from bizlm.serve.settings import ServeSettings
from tests.apps.support.test_grounded_agent import (  # noqa: F401  (fixtures)
    REFUNDS,
    StubGenerator,
    desk,
    generate_bundle,
    tiny_generator_dir,
)


def events(response: Any) -> list[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream."""
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]


@pytest.fixture
def client(desk: Path, tmp_path: Path) -> Iterator[TestClient]:  # noqa: F811
    """The desk's service with no template or FAQ answer (every answer is generated)."""
    app, store = create_support_app(desk, ServeSettings(auth=False), tmp_path / "chat.db")
    agent = app.state.support_agent
    agent.project.templates = {}
    agent.project.settings.faq.min_similarity = 1.01
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def writes(client: TestClient, reply: str) -> StubGenerator:
    """Make the desk's generator write ``reply``."""
    generator = StubGenerator(reply)
    client.app.state.support_agent.grounded.generator = generator  # type: ignore[attr-defined]
    return generator


def stream(client: TestClient, message: str, session_id: str | None = None) -> Any:
    body = {"message": message, "session_id": session_id}
    return client.post("/v1/support/chat/stream", json=body)


def test_a_generated_reply_streams_sentence_by_sentence_then_whole(client: TestClient) -> None:
    writes(client, "Refunds reach your card [1]. It takes five working days [1].")
    *deltas, reply = events(stream(client, "when do refunds reach my card"))
    assert [d["type"] for d in deltas] == ["delta", "delta"] and reply["type"] == "reply"
    assert "".join(d["text"] for d in deltas) == reply["answer"]
    assert reply["kind"] == "generated" and reply["handoff"] is False
    [source] = reply["sources"]
    opened = client.get(source["link"])
    assert opened.status_code == 200
    assert opened.json()["text"] == REFUNDS and opened.json()["file"] == "billing.md"
    stored = client.get(f"/v1/support/conversations/{reply['session_id']}").json()["messages"]
    assert [m["role"] for m in stored] == ["customer", "desk"]
    assert stored[1]["text"] == reply["answer"]


def test_the_streamed_reply_is_the_one_the_plain_route_gives(client: TestClient) -> None:
    writes(client, f"{REFUNDS[:-1]} [1].")
    plain = client.post("/v1/support/chat", json={"message": "refunds to my card"}).json()
    *_, streamed = events(stream(client, "refunds to my card"))
    for key in ("answer", "kind", "intent", "confidence", "sources", "handoff"):
        assert streamed[key] == plain[key]


def test_an_unsupported_reply_shows_only_its_supported_start_then_hands_off(
    client: TestClient,
) -> None:
    writes(client, f"{REFUNDS[:-1]} [1]. Purple elephants deliver parcels. More words here.")
    *deltas, reply = events(stream(client, "when do refunds reach my card"))
    assert [d["text"] for d in deltas] == [f"{REFUNDS[:-1]} [1]."]
    assert reply["kind"] == "handoff" and reply["handoff_reason"] == "unsupported"
    assert reply["conversation"][0]["role"] == "customer"


def test_personal_data_is_masked_in_the_streamed_pieces(client: TestClient) -> None:
    writes(client, f"{REFUNDS[:-1]}, or write to jane.doe@example.com [1].")
    *deltas, reply = events(stream(client, "when do refunds reach my card"))
    assert all("jane.doe" not in d["text"] for d in deltas) and "[EMAIL]" in deltas[0]["text"]
    assert "jane.doe" not in reply["answer"]


def test_a_failure_after_the_start_is_an_error_event(client: TestClient) -> None:
    class Failing(StubGenerator):
        def stream(self, messages: Any, **overrides: Any) -> Iterator[str]:
            yield f"{REFUNDS[:-1]} [1]. "
            raise RuntimeError("the model broke")

    client.app.state.support_agent.grounded.generator = Failing("")  # type: ignore[attr-defined]
    response = stream(client, "when do refunds reach my card")
    assert response.status_code == 200
    *_, last = events(response)
    assert last == {
        "type": "error",
        "error": {"code": "internal_error", "message": "The desk could not finish the reply."},
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [({"message": "   "}, 422), ({"message": "hi", "extra": 1}, 422), ({}, 422)],
)
def test_bad_messages_are_refused_before_any_stream(
    client: TestClient, body: dict[str, Any], status: int
) -> None:
    response = client.post("/v1/support/chat/stream", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["message"]


def test_an_unknown_source_is_404(client: TestClient) -> None:
    response = client.get("/v1/support/sources/no-such-passage")
    assert response.status_code == 404
    assert "no-such-passage" in response.json()["error"]["message"]


def test_a_desk_without_knowledge_base_streams_its_faq_answer_whole(
    trained_dir: Path, tmp_path: Path
) -> None:
    app, store = create_support_app(trained_dir, ServeSettings(auth=False), tmp_path / "c.db")
    app.state.support_agent.project.templates = {}
    with TestClient(app) as test_client:
        [reply] = events(stream(test_client, "bag gate ticket"))
        assert reply["type"] == "reply" and reply["answer"] == "Bags go to gate 4."
        assert test_client.get("/v1/support/sources/anything").status_code == 404
    store.close()


def test_a_reader_that_leaves_closes_the_generator() -> None:
    closed = []

    def counting() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.append(True)

    async def read_two() -> list[int]:
        items = []
        reader = in_threads(counting())
        async for item in reader:
            items.append(item)
            if len(items) == 2:
                break
        await reader.aclose()
        return items

    assert asyncio.run(read_two()) == [0, 1] and closed == [True]
