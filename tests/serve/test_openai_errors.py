"""The OpenAI-compatible routes in process: bad requests get clear 4xx answers, long prompts
are cut, streams have OpenAI's event format, and generate bundles serve from the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bizlm.registry.keys import KeyStore
from bizlm.registry.store import Registry

USER = [{"role": "user", "content": "say hello to anna"}]


@pytest.fixture()
def both(make_client, tiny_bundles: list[Path], tiny_generate_bundle: Path) -> TestClient:
    """A no-auth server for a classifier ('tiny-1') and a generate bundle ('chat')."""
    return make_client(bundles=(tiny_bundles[0], tiny_generate_bundle), auth=False)


def chat(client: TestClient, **body) -> tuple[int, dict]:
    answer = client.post("/v1/chat/completions", json={"model": "chat", **body})
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": USER, "n": 3}, "n: only n=1 is supported, not 3"),
        ({"messages": USER, "max_tokens": 513}, "over this server's limit of 512 tokens"),
        ({"messages": USER, "max_completion_tokens": 600}, "limit of 512 tokens"),
        ({"messages": USER, "max_tokens": 0}, "max_tokens: Input should be greater than"),
        ({"messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "at most 4 stop strings"),
        ({"messages": USER, "stop": [""]}, "a stop string must not be empty"),
        ({"messages": USER, "temperature": 3}, "temperature: Input should be less than"),
        ({"messages": USER, "logprobs": True}, "logprobs: Extra inputs are not permitted"),
        ({"messages": []}, "messages: List should have at least 1 item"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        (
            {"messages": [*USER, {"role": "assistant", "content": "hello"}]},
            "it must end on a user turn",
        ),
        (
            {"messages": [{"role": "user", "content": "x" * 10_001}]},
            "longer than 10000 characters (max_text_chars)",
        ),
    ],
)
def test_bad_chat_requests_get_422_saying_why(both: TestClient, body: dict, message: str) -> None:
    status, answer = chat(both, **body)
    assert status == 422
    assert message in answer["error"]["message"]


def test_models_and_routes_are_matched(both: TestClient) -> None:
    status, answer = chat(both, messages=USER, model="ghost")
    assert status == 404 and "No model named 'ghost'" in answer["error"]["message"]
    wrong = both.post("/v1/completions", json={"model": "tiny-1", "prompt": "good"})
    assert wrong.status_code == 400
    assert "POST /v1/models/tiny-1/predict" in wrong.json()["error"]["message"]
    predict = both.post("/v1/models/chat/predict", json={"text": "good"})
    assert predict.status_code == 400
    assert "POST /v1/chat/completions" in predict.json()["error"]["message"]
    listed = both.get("/v1/models").json()
    assert [m["name"] for m in listed["models"]] == ["chat", "tiny-1"]
    assert listed["object"] == "list"
    assert [(m["id"], m["object"]) for m in listed["data"]] == [("chat", "model")]


def test_a_long_prompt_keeps_its_end(both: TestClient, tiny_generate_bundle: Path) -> None:
    status, answer = chat(
        both, messages=[{"role": "user", "content": "say hello to anna " * 40}], max_tokens=2
    )
    assert status == 200
    assert answer["usage"]["prompt_tokens"] == 24  # the bundle's max_length
    assert answer["choices"][0]["finish_reason"] in ("stop", "length")


def test_sampling_options_and_text_parts_are_accepted(both: TestClient) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "say hello"}]}]
    status, answer = chat(
        both, messages=parts, max_tokens=3, temperature=0.7, top_p=0.9, stop="zz", user="u1"
    )
    assert status == 200 and answer["object"] == "chat.completion"
    assert answer["usage"]["completion_tokens"] <= 3


def test_a_stream_has_openai_events(both: TestClient) -> None:
    body = {"model": "chat", "prompt": "say hello", "max_tokens": 5, "stream": True}
    body["stream_options"] = {"include_usage": True}
    with both.stream("POST", "/v1/completions", json=body) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = [line for line in answer.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in events[:-1]]
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert chunks[-2]["choices"][0]["finish_reason"] in ("stop", "length")
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] <= 5
    streamed_error = both.post("/v1/completions", json={**body, "model": "tiny-1"})
    assert streamed_error.status_code == 400  # refused before the stream starts


def test_keys_are_checked(make_client, tiny_generate_bundle: Path, registry_url: str) -> None:
    admin = KeyStore(registry_url).create("ops", ["admin"])[0]
    client = make_client(bundles=(tiny_generate_bundle,))
    body = {"model": "chat", "prompt": "hello", "max_tokens": 2}
    missing = client.post("/v1/completions", json=body)
    assert missing.status_code == 401 and "Bearer KEY" in missing.json()["error"]["message"]
    wrong = client.post("/v1/completions", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "wrong or revoked" in wrong.json()["error"]["message"]
    headers = {"Authorization": f"Bearer {admin}"}
    assert client.post("/v1/completions", json=body, headers=headers).status_code == 200


def test_generate_bundles_serve_from_the_registry(
    make_client, tiny_generate_bundle: Path, registry_url: str
) -> None:
    Registry(registry_url).add("writer", tiny_generate_bundle, stage="production")
    client = make_client(auth=False)
    answer = client.post("/v1/completions", json={"model": "writer", "prompt": "hi"})
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["finish_reason"] in ("stop", "length")


def test_chat_requests_are_audited_with_masked_texts(
    make_client, tiny_generate_bundle: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    client = make_client(
        bundles=(tiny_generate_bundle,), auth=False, audit_path=audit, audit_texts=True
    )
    messages = [{"role": "user", "content": "mail me at a@b.io"}]
    assert chat(client, messages=messages, max_tokens=2)[0] == 200
    client.__exit__(None, None, None)  # stopping the app writes the audit log out
    [event] = [json.loads(line) for line in audit.read_text().splitlines()]
    assert event["path"] == "/v1/chat/completions" and event["model"] == "chat"
    assert event["version"] == "bundle" and event["status"] == 200
    assert event["texts"] == ["mail me at [EMAIL]"]


def test_the_token_limit_setting_is_checked() -> None:
    from bizlm.serve.settings import ServeError, ServeSettings

    with pytest.raises(ServeError, match="--max-new-tokens must be from 1 to 32768, not 0"):
        ServeSettings(max_new_tokens=0).check()


def test_generated_tokens_are_limited_per_key(
    make_client, tiny_generate_bundle: Path, registry_url: str
) -> None:
    key = KeyStore(registry_url).create("app", ["predict"], 1000, 1000)[0]
    other = KeyStore(registry_url).create("other", ["predict"], 1000, 1000)[0]
    client = make_client(bundles=(tiny_generate_bundle,), tokens_per_minute=6)
    body = {"model": "chat", "prompt": "hello", "max_tokens": 6}

    def ask(secret: str, **extra):
        headers = {"Authorization": f"Bearer {secret}"}
        return client.post("/v1/completions", json={**body, **extra}, headers=headers)

    first = ask(key)
    assert first.status_code == 200
    used = first.json()["usage"]["completion_tokens"]
    assert used == 6  # the untrained model writes on to its limit
    over = ask(key)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    error = over.json()["error"]
    assert error["code"] == "token_rate_limited"
    assert "over its limit of 6 generated tokens per minute" in error["message"]
    assert ask(other).status_code == 200  # each key has its own tokens


def test_unused_reserved_tokens_go_back() -> None:
    from bizlm.serve.auth import GeneratedTokenLimit
    from bizlm.serve.errors import ApiError

    limit = GeneratedTokenLimit(per_minute=600)
    give_back = limit.reserve("k1", "app", 500)
    with pytest.raises(ApiError, match="reserves max_tokens=200"):
        limit.reserve("k1", "app", 200)
    give_back(20)  # the answer used 20 of its 500
    limit.reserve("k1", "app", 500)
    limit.reserve("k2", "other", 10_000)  # reserves at most a minute's worth
