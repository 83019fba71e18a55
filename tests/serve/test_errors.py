"""Bad input gets a 4xx with a JSON error body naming the problem, never a 5xx."""

from __future__ import annotations

import pytest

URL = "/v1/models/tiny-1/predict"


@pytest.fixture()
def limited(make_client, tiny_bundles):
    return make_client(
        bundles=(tiny_bundles[0],), auth=False, max_texts=3, max_text_chars=20, max_body_bytes=500
    )


def error_of(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


def post_raw(client, content: bytes | str):
    return client.post(URL, content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize("content", ['{"texts": ["a"', "not json", '{"text": "a",}', "\xff"])
def test_malformed_json_is_400(limited, content: str):
    assert error_of(post_raw(limited, content), 400)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"texts": "good"}, "texts"),
        ({"texts": [1, 2]}, "texts.0"),
        ({"text": 5}, "text"),
        ({"text": "a", "top_k": "2"}, "top_k"),
        ({"text": "a", "top_k": 0}, "top_k"),
        ({"text": "a", "explain": "yes"}, "explain"),
        ({"text": "a", "explain_method": "magic"}, "explain_method"),
        ({"text": "a", "unknown": 1}, "unknown"),
        ({"text": "a", "texts": ["b"]}, "body"),
        ({}, "body"),
        ([], "body"),
        ("text", "body"),
        (None, "body"),
    ],
)
def test_wrong_fields_are_422(limited, body, where: str):
    error = error_of(limited.post(URL, json=body), 422)
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{where}:")


def test_empty_text_list_is_422(limited):
    error = error_of(limited.post(URL, json={"texts": []}), 422)
    assert error["code"] == "empty_texts"


def test_too_many_texts_is_422_naming_the_limit(limited):
    error = error_of(limited.post(URL, json={"texts": ["a"] * 4}), 422)
    assert error == {
        "code": "too_many_texts",
        "message": "At most 3 texts per request (max_texts).",
    }


def test_text_too_long_is_422_naming_the_limit(limited):
    error = error_of(limited.post(URL, json={"texts": ["ok", "x" * 21]}), 422)
    assert error["code"] == "text_too_long"
    assert "texts.1" in error["message"] and "20 characters (max_text_chars)" in error["message"]
    assert limited.post(URL, json={"text": "x" * 20}).status_code == 200  # the limit is inclusive


def test_unknown_model_is_404(limited):
    for answer in (
        limited.post("/v1/models/ghost/predict", json={"text": "a"}),
        limited.get("/v1/models/ghost"),
    ):
        assert error_of(answer, 404) == {
            "code": "model_not_found",
            "message": "No model named 'ghost' is served.",
        }
    assert error_of(limited.get("/v1/nothing/here"), 404)["code"] == "not_found"
    assert error_of(limited.delete("/v1/models"), 405)["code"] == "method_not_allowed"


def test_body_over_the_size_limit_is_413(limited):
    declared = post_raw(limited, '{"text": "' + "a" * 600 + '"}')
    assert error_of(declared, 413) == {
        "code": "body_too_large",
        "message": "The request body is larger than 500 bytes (max_body_bytes).",
    }

    def chunks():  # no Content-Length: the body is counted as it streams in
        yield b'{"texts": ['
        for _ in range(100):
            yield b'"aaaaaaaa",'
        yield b'"a"]}'

    streamed = limited.post(URL, content=chunks(), headers={"content-type": "application/json"})
    assert error_of(streamed, 413)["code"] == "body_too_large"


def test_slow_answer_is_504_and_the_server_keeps_serving(make_client, tiny_bundles):
    client = make_client(bundles=(tiny_bundles[0],), auth=False, timeout_s=0.001)
    body = {"text": "good great flight", "explain": True, "explain_method": "integrated_gradients"}
    error = error_of(client.post(URL, json=body), 504)
    assert error["code"] == "timeout" and "timeout" in error["message"]
    assert client.get("/healthz").status_code == 200


def test_wrong_content_type_is_a_4xx(limited):
    answer = limited.post(URL, content="text=a", headers={"content-type": "text/plain"})
    assert 400 <= answer.status_code < 500
    error_of(answer, answer.status_code)
