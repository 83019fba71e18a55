"""The official OpenAI client against a live server for a tiny generate bundle (served as
'chat'): chat and text completions, streamed or not, key checks, limits, and a client that
disconnects mid-stream, and requests decoded together."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bizlm.registry.keys import KeyStore
from bizlm.serve.app import create_app
from bizlm.serve.settings import ServeSettings
from tests.live_server import serve_app

LIMIT = 4000  # max_new_tokens of the server: long enough to disconnect mid-answer


@pytest.fixture()
def live(tiny_generate_bundle: Path, registry_url: str) -> Iterator[tuple[str, str]]:
    """A live server for the generate bundle with auth on; yields its URL and a predict key."""
    key = KeyStore(registry_url).create("app", ["predict"], 1000, 1000)[0]
    settings = ServeSettings(
        registry_url=registry_url, bundles=(tiny_generate_bundle,), max_new_tokens=LIMIT
    )
    with serve_app(create_app(settings)) as url:
        yield url, key


def client(url: str, key: str) -> openai.OpenAI:
    """The official client for the server (no retries: each test sees the first answer)."""
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def metric(url: str, name: str, model: str = "chat", **labels: str) -> float:
    """A sample of the server's Prometheus metrics for ``model`` and ``labels`` (0 when
    absent)."""
    wanted = {"model": model, **labels}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.name == name and wanted.items() <= sample.labels.items():
                return sample.value
    return 0.0


def test_chat_completion_answers_in_openai_format(live) -> None:
    url, key = live
    answer = client(url, key).chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "say hello to anna"}],
        max_tokens=6,
        temperature=0,
    )
    assert answer.object == "chat.completion" and answer.model == "chat"
    [choice] = answer.choices
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    usage = answer.usage
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 6
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    listed = [model.id for model in client(url, key).models.list()]
    assert listed == ["chat"]


def test_streamed_chat_joins_into_the_whole_answer(live) -> None:
    url, key = live
    openai_client = client(url, key)
    request = {
        "model": "chat",
        "messages": [{"role": "user", "content": "say hello to anna"}],
        "max_tokens": 12,
    }
    whole = openai_client.chat.completions.create(**request).choices[0].message.content
    chunks = list(
        openai_client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole and len(chunks) > 3
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] in ("stop", "length") and set(finish[:-1]) == {None}
    assert chunks[-1].usage.completion_tokens > 0
    assert metric(url, "bizlm_time_to_first_token_seconds_count") >= 2
    assert metric(url, "bizlm_generated_tokens_total") > 0


def test_text_completion_streamed_and_whole(live) -> None:
    url, key = live
    openai_client = client(url, key)
    whole = openai_client.completions.create(model="chat", prompt="say hello", max_tokens=8)
    assert whole.object == "text_completion" and whole.usage.completion_tokens > 0
    pieces = openai_client.completions.create(
        model="chat", prompt="say hello", max_tokens=8, stream=True
    )
    assert "".join(chunk.choices[0].text for chunk in pieces) == whole.choices[0].text


def test_key_limit_n_and_model_are_checked(live) -> None:
    url, key = live
    messages = [{"role": "user", "content": "hello"}]
    with pytest.raises(openai.AuthenticationError, match="The API key is wrong or revoked"):
        client(url, "not-a-key").chat.completions.create(model="chat", messages=messages)
    with pytest.raises(openai.UnprocessableEntityError) as over:
        client(url, key).chat.completions.create(
            model="chat", messages=messages, max_tokens=LIMIT + 1
        )
    assert f"limit of {LIMIT} tokens" in over.value.message
    with pytest.raises(openai.UnprocessableEntityError, match="only n=1 is supported"):
        client(url, key).chat.completions.create(model="chat", messages=messages, n=2)
    with pytest.raises(openai.NotFoundError, match="No model named 'ghost'"):
        client(url, key).completions.create(model="ghost", prompt="hello")


def test_a_client_that_disconnects_frees_the_generation(live) -> None:
    url, key = live
    stream = client(url, key).chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "say hello to anna"}],
        max_tokens=LIMIT,
        stream=True,
    )
    for index, _ in enumerate(stream):
        if index == 3:
            break
    assert metric(url, "bizlm_tokens_in_flight") > 0  # the answer is still being written
    stream.close()
    deadline = time.monotonic() + 10
    while metric(url, "bizlm_tokens_in_flight") > 0:
        assert time.monotonic() < deadline, "the abandoned generation still runs"
        time.sleep(0.05)
    assert metric(url, "bizlm_generated_tokens_total") < LIMIT / 2
    # the model is free: the next request is answered at once
    answer = client(url, key).completions.create(model="chat", prompt="hello", max_tokens=2)
    assert answer.usage.completion_tokens <= 2


def test_requests_that_arrive_together_are_decoded_together(live) -> None:
    url, key = live
    openai_client = client(url, key)
    messages = [{"role": "user", "content": "say hello to anna"}]
    alone = openai_client.chat.completions.create(model="chat", messages=messages, max_tokens=40)
    long = openai_client.chat.completions.create(
        model="chat", messages=messages, max_tokens=LIMIT, stream=True
    )
    next(iter(long))  # the long answer is being written
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: openai_client.chat.completions.create(
                    model="chat", messages=messages, max_tokens=40
                ),
                range(4),
            )
        )
    assert metric(url, "bizlm_tokens_in_flight") > 0  # the long answer is still running
    long.close()
    # each short answer joined the running batch, left it when done, and is what it is alone
    assert all(a.choices[0].message.content == alone.choices[0].message.content for a in answers)
    one_row = metric(url, "bizlm_batch_size_bucket", le="1.0")
    assert metric(url, "bizlm_batch_size_count") > one_row  # some steps decoded several rows
