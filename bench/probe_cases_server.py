"""Probe cases against the running servers: risk flood, PII in the audit log, keys, paths."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.probe_http import http_case, status_in
from bench.probe_services import Service
from bench.probe_verdict import Outcome

BIG_ID = "1" * 25
RSS_CEILING_MB = 1536.0
# (text, the raw value that must not reach the audit log) and decoys that must stay as they are
PII_TEXTS = [
    ("电话13912345678", "13912345678"),
    ("身份证号11010519491231002X", "11010519491231002X"),
    ("请发到a@b.com谢谢", "a@b.com"),
    ("+86 138 1234 5678", "138 1234 5678"),
    ("138-1234-5678", "138-1234-5678"),
]
DECOYS = ["ISBN 978-3-16-148410-0", "version 2.4.1.10"]


def _item(item_id: str, moment: object) -> dict[str, object]:
    return {"id": item_id, "time": moment, "source": "probe", "text": "bank fraud at Acme"}


def _rejected_ids(answer: httpx.Response) -> list[str]:
    try:
        return [r.get("id") for r in answer.json().get("rejected", [])]
    except (ValueError, AttributeError):
        return []


def risk_cases(risk: Service) -> list[Outcome]:
    """Far-future and non-finite item times, then trends, health and memory still fine."""
    outcomes = []
    client = httpx.Client(base_url=risk.url, timeout=30)

    def far_future() -> tuple[bool, str, list[int]]:
        items = [_item("now", time.time()), _item("far", 100000000000)]
        answer = client.post("/v1/risk/items", json={"items": items})
        rejected = _rejected_ids(answer)
        ok = answer.status_code == 200 and rejected == ["far"]
        return ok, f"{answer.status_code}, rejected {rejected}", [answer.status_code]

    outcomes.append(
        http_case(
            risk,
            "1 risk: time 1e11 beside a normal item",
            "200, only the 1e11 item rejected",
            far_future,
            10,
        )
    )
    extremes = [1e300, -1e18, "NaN", "Infinity", "-inf", "nan"]
    for index, moment in enumerate(extremes):

        def extreme(moment: object = moment, index: int = index) -> tuple[bool, str, list[int]]:
            answer = client.post("/v1/risk/items", json={"items": [_item(f"x{index}", moment)]})
            return status_in(answer, range(400, 500))

        outcomes.append(
            http_case(risk, f"1 risk: item time {moment!r}", "4xx (item rejected)", extreme, 10)
        )
    time.sleep(1.0)  # a background pass classifies what was accepted

    def trends() -> tuple[bool, str, list[int]]:
        return status_in(client.get("/v1/risk/trends", timeout=10), {200})

    def health() -> tuple[bool, str, list[int]]:
        return status_in(client.get("/healthz", timeout=5), {200})

    outcomes.append(
        http_case(risk, "1 risk: GET /v1/risk/trends after", "200 within 10 s", trends, 10)
    )
    outcomes.append(http_case(risk, "1 risk: GET /healthz after", "200 within 5 s", health, 5))
    rss = risk.rss_mb() if risk.alive() else float("nan")
    outcomes.append(
        Outcome(
            "1 risk: server RSS after the flood",
            f"< {RSS_CEILING_MB:.0f} MiB",
            f"{rss:.0f} MiB",
            rss < RSS_CEILING_MB,
        )
    )

    def ack() -> tuple[bool, str, list[int]]:
        return status_in(client.post(f"/v1/risk/alerts/{BIG_ID}/ack"), {404})

    outcomes.append(http_case(risk, "4 keys: ack alert with a 25-digit id", "404", ack, 5))
    client.close()
    return outcomes


def _audit_texts(path: Path, expected: int, wait_s: float = 5.0) -> list[str]:
    """The texts recorded in the audit log, in request order, once ``expected`` are in."""
    deadline = time.monotonic() + wait_s
    texts: list[str] = []
    while time.monotonic() < deadline:
        texts = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                texts += json.loads(line).get("texts") or []
        if len(texts) >= expected:
            break
        time.sleep(0.2)
    return texts


def _leaks(raw: str, recorded: str) -> bool:
    """True when ``raw`` is in ``recorded``, also with its spaces and dashes dropped."""
    squeeze = str.maketrans("", "", " -")
    return raw in recorded or raw.translate(squeeze) in recorded.translate(squeeze)


def pii_cases(server: Service, key: str, audit: Path) -> list[Outcome]:
    """Each text through /predict; raw personal data must not reach the audit file."""
    headers = {"Authorization": f"Bearer {key}"}
    sent: list[Outcome] = []
    texts = [text for text, _ in PII_TEXTS] + DECOYS
    for text in texts:

        def predict(text: str = text) -> tuple[bool, str, list[int]]:
            answer = httpx.post(
                f"{server.url}/v1/models/tiny/predict",
                json={"text": text},
                headers=headers,
                timeout=10,
            )
            return status_in(answer, {200})

        sent.append(http_case(server, f"2 pii: predict {text!r}", "200", predict, 10))
    recorded = _audit_texts(audit, len(texts))
    everything = "\n".join(recorded)
    outcomes = []
    for index, ((text, raw), answer) in enumerate(zip(PII_TEXTS, sent, strict=False)):
        leaked = _leaks(raw, everything)
        line = recorded[index] if index < len(recorded) else None
        got = f"{answer.got}; audit: {line!r}" + (" LEAKED" if leaked else "")
        outcomes.append(
            Outcome(
                f"2 pii: {text!r} masked in the audit log",
                "200, raw value not in the audit",
                got,
                answer.matched and not leaked and line is not None,
                answer.statuses,
                answer.output,
                answer.seconds,
                answer.limit_s,
                answer.timed_out,
            )
        )
    for index, (decoy, answer) in enumerate(zip(DECOYS, sent[len(PII_TEXTS) :], strict=True)):
        position = len(PII_TEXTS) + index
        line = recorded[position] if position < len(recorded) else None
        outcomes.append(
            Outcome(
                f"2 pii: decoy {decoy!r} left alone",
                "200, text unchanged in the audit",
                f"{answer.got}; audit: {line!r}",
                answer.matched and line == decoy,
                answer.statuses,
                answer.output,
                answer.seconds,
                answer.limit_s,
                answer.timed_out,
            )
        )
    return outcomes


def path_cases(server: Service, key: str) -> list[Outcome]:
    """A 25-digit number in each model-server path parameter."""
    headers = {"Authorization": f"Bearer {key}"}
    requests = [
        ("GET", f"/v1/models/{BIG_ID}", None),
        ("POST", f"/v1/models/{BIG_ID}/predict", {"text": "good"}),
    ]
    outcomes = []
    for method, path, body in requests:

        def call(
            method: str = method, path: str = path, body: object = body
        ) -> tuple[bool, str, list[int]]:
            answer = httpx.request(method, server.url + path, json=body, headers=headers, timeout=5)
            return status_in(answer, range(400, 500))

        outcomes.append(http_case(server, f"4 keys: {method} {path}", "4xx", call, 5))
    return outcomes


def _until_429(
    server: Service, tries: int, headers: Callable[[], dict[str, str]], counted: str
) -> tuple[bool, str, list[int]]:
    """GET /v1/models up to ``tries`` times with fresh ``headers()``, stopping at the first 429."""
    statuses = []
    with httpx.Client(base_url=server.url, timeout=5) as client:
        for _ in range(tries):
            statuses.append(client.get("/v1/models", headers=headers()).status_code)
            if statuses[-1] == 429:
                break
    got = f"{len(statuses)} {counted}, statuses {sorted(set(statuses))}"
    return 429 in statuses, got, statuses


def burst_case(server: Service, key: str, requests: int = 300) -> Outcome:
    """A key created without --rate-limit: a fast burst must meet a 429."""

    def burst() -> tuple[bool, str, list[int]]:
        return _until_429(server, requests, lambda: {"Authorization": f"Bearer {key}"}, "requests")

    return http_case(
        server,
        "4 keys: burst on a key made without --rate-limit",
        f"429 within {requests} requests",
        burst,
        30,
    )


def bad_key_case(server: Service, attempts: int = 200) -> Outcome:
    """Wrong keys from one address: the server must start answering 429."""

    def wrong_key() -> dict[str, str]:
        return {"Authorization": f"Bearer bz_{secrets.token_hex(16)}"}

    def guess() -> tuple[bool, str, list[int]]:
        return _until_429(server, attempts, wrong_key, "wrong keys")

    return http_case(
        server,
        "4 keys: wrong keys from one address throttled",
        f"429 within {attempts} attempts",
        guess,
        30,
    )
