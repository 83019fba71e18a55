"""Property-based fuzzing of the OpenAPI schema, in-process over ASGI (no network).

Requests carry an admin key so they reach the handlers; schemathesis starts the app's lifespan
itself. Every answer, to valid and to invalid input, must be non-5xx and match the schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from bizlm.registry.keys import MAX_LIMIT, KeyStore
from bizlm.serve.app import create_app
from bizlm.serve.settings import ServeSettings

POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CASES = [
    ("POST", "/v1/models/{name}/predict", POSITIVE),
    ("POST", "/v1/models/{name}/predict", NEGATIVE),
    ("GET", "/v1/models/{name}", POSITIVE),
    ("GET", "/v1/models/{name}", NEGATIVE),
    # No parameters or body: there is no invalid input to make for these.
    ("GET", "/v1/models", POSITIVE),
    ("POST", "/v1/admin/reload", POSITIVE),
    ("GET", "/healthz", POSITIVE),
    ("GET", "/readyz", POSITIVE),
    ("GET", "/metrics", POSITIVE),
]


@pytest.fixture()
def fuzzed(tiny_bundles: list[Path], registry_url: str):
    """The schema of a server for the tiny model (served as 'tiny-1'), and an admin key.

    The key's rate limit is the highest allowed, so that requests reach the handlers.
    """
    key = KeyStore(registry_url).create("fuzz", ["admin"], MAX_LIMIT, MAX_LIMIT)[0]
    app = create_app(
        ServeSettings(
            registry_url=registry_url,
            bundles=(tiny_bundles[0],),
            max_texts=4,
            max_text_chars=200,
            max_explain_texts=2,
            explain_steps=4,
        )
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app), key


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_server_errors_and_answers_match_the_schema(fuzzed, method, path, mode) -> None:
    schema, key = fuzzed
    operation = schema[path][method]
    # Valid input names the served model so it reaches inference; invalid input names anything.
    named = {"name": "tiny-1"} if "{name}" in path and mode is POSITIVE else None
    examples = 50 if "predict" in path else 15

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=named))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        case.call_and_validate(headers={"X-API-Key": key})

    check()
