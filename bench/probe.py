"""Replay the hardening cases against real services and the CLI; judge each answer.

Run with ``python -m bench.probe``. It trains the tests' tiny random BERT into a bundle, starts
``bizlm serve`` (registry, API keys, audit log with texts) and ``bizlm app risk serve`` on
127.0.0.1 in a temporary BIZLM_HOME, replays every case, prints a table (case, expected, got,
verdict) and writes ``bench/results/probe.json``.

A case is *clean* when it got the expected answer (a 4xx, exit code 2, or the documented
success) within its time limit with no traceback in the output or the server log; *5xx* when
any HTTP 5xx came back; *traceback* when a CLI printed one or the server logged one; *timeout*
when it ran past its limit; *wrong* for any other answer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.machine import describe_machine
from bench.probe_cases_cli import (
    broken_bundle_cases,
    cli_case,
    input_cases,
    key_limit_cases,
    private_mode_cases,
    stale_tmp_case,
)
from bench.probe_cases_server import bad_key_case, burst_case, path_cases, pii_cases, risk_cases
from bench.probe_http import header_cases, http_case, status_in
from bench.probe_services import ROOT, Service, run_cli
from bench.probe_setup import renamed_copy, train_bundle, truncate_weights
from bench.probe_verdict import Outcome, summarise, table
from tests.conftest import make_rows, save_tiny_bert, write_csv

RESULTS = ROOT / "bench" / "results" / "probe.json"


def header_timeout_option() -> str | None:
    """The name of ``bizlm serve``'s header-timeout option, if it has one."""
    help_text = run_cli(["serve", "--help"], timeout=60).stdout
    found = re.search(
        r"--[\w-]*header[\w-]*timeout[\w-]*|--[\w-]*timeout[\w-]*header[\w-]*", help_text
    )
    return found.group(0) if found else None


def create_key(name: str, registry: str, *options: str) -> str:
    """Create an API key with the CLI; return the key."""
    result = run_cli(["keys", "create", "--name", name, "--registry", registry, "--json", *options])
    if result.code != 0:
        raise RuntimeError(f"could not create key {name}: {result.output[-2000:]}")
    return json.loads(result.stdout)["key"]


def promote_cases(
    server: Service, bundle: Path, work: Path, registry: str, key: str
) -> list[Outcome]:
    """Promote a version whose weights are cut: refused with exit 3, the server keeps serving."""
    copy = renamed_copy(bundle, work / "tiny-v2")
    added = run_cli(["registry", "add", "tiny", str(copy), "--registry", registry, "--json"])
    case = "5 bundles: promote an unloadable version"
    if added.code != 0:
        return [
            Outcome(
                case, "exit 3", f"could not register: {added.summary()}", False, output=added.output
            )
        ]
    version = json.loads(added.stdout)["version"]
    truncate_weights(copy)
    promoted = cli_case(
        case,
        "refused, exit 3",
        ["registry", "promote", "tiny", str(version), "--registry", registry],
        {3},
        60,
    )
    time.sleep(2.0)  # four poll intervals: a promoted version would be picked up by now

    def still_serving() -> tuple[bool, str, list[int]]:
        answer = httpx.post(
            f"{server.url}/v1/models/tiny/predict",
            json={"text": "good flight"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        matched, got, statuses = status_in(answer, {200})
        served = answer.json().get("version") if matched else None
        return matched and str(served) != str(version), f"{got} version {served}", statuses

    serving = http_case(
        server,
        "5 bundles: server serves after that promote",
        "200 from version 1",
        still_serving,
        10,
    )
    return [promoted, serving]


def pii_scores() -> dict[str, Any]:
    """Recall and precision of PII masking from ``bench.pii_cases``, or nulls when it is missing.

    ``pii_recall`` and ``pii_precision`` are the lowest over languages and kinds (as in
    ``bench/results/pii.json``); ``pii_per_kind`` holds every language and kind.
    """
    try:
        from bench.pii_cases import generate, score
    except ImportError as exc:
        return {"pii_recall": None, "pii_precision": None, "pii_note": f"not measured: {exc}"}
    per_kind = score(generate())
    rows = [row for kinds in per_kind.values() for row in kinds.values()]
    return {
        "pii_recall": min(row["recall"] for row in rows),
        "pii_precision": min(row["precision"] for row in rows),
        "pii_per_kind": per_kind,
    }


def server_cases(bundle: Path, work: Path, home: Path, registry: str) -> list[Outcome]:
    """Everything against ``bizlm serve`` and ``bizlm app risk serve``."""
    outcomes: list[Outcome] = []
    admin = create_key("probe-admin", registry, "--scopes", "predict,admin", "--rate-limit", "1000")
    default = create_key("probe-default", registry)
    added = run_cli(
        ["registry", "add", "tiny", str(bundle), "--stage", "production", "--registry", registry]
    )
    if added.code != 0:
        raise RuntimeError(f"could not register the bundle: {added.output[-2000:]}")
    risk_folder = work / "risk"
    sentiment = renamed_copy(bundle, work / "tiny-sentiment")  # two models need two names
    init = [
        "app",
        "risk",
        "init",
        str(risk_folder),
        "--topic-bundle",
        str(bundle),
        "--sentiment-bundle",
        str(sentiment),
    ]
    if run_cli(init).code != 0:
        raise RuntimeError("could not create the risk folder")
    risk = Service(
        ["app", "risk", "serve", str(risk_folder), "--no-auth", "--interval", "0.2"],
        work / "risk.log",
    )
    try:
        outcomes += risk_cases(risk)
    finally:
        risk.stop()
    option = header_timeout_option()
    header_timeout = 2.0 if option else None
    extra = [option, "2"] if option else []
    audit = home / "audit.jsonl"
    command = [
        "serve",
        "--registry",
        registry,
        "--poll-interval",
        "0.5",
        "--audit-log",
        str(audit),
        "--audit-texts",
        *extra,
    ]
    server = Service(command, work / "serve.log")
    try:
        outcomes += pii_cases(server, admin, audit)
        outcomes += path_cases(server, admin)
        outcomes += header_cases(server, header_timeout)
        outcomes += promote_cases(server, bundle, work, registry, admin)
        outcomes.append(burst_case(server, default))
        outcomes.append(bad_key_case(server))
    finally:
        server.stop()
    return outcomes


def main() -> None:
    """Set up, replay every case, print the table, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the work folder (logs, bundles) even if clean."
    )
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bizlm-probe-"))
    home = work / "home"
    home.mkdir()
    os.environ["BIZLM_HOME"] = str(home)
    os.environ.pop("BIZLM_REGISTRY", None)
    registry = f"sqlite:///{home / 'registry.db'}"
    model = save_tiny_bert(work / "model")
    bundle = train_bundle(model, work)
    data = write_csv(work / "eval.csv", make_rows(30, seed=5))
    outcomes = server_cases(bundle, work, home, registry)
    outcomes += key_limit_cases(f"sqlite:///{work / 'scratch.db'}")
    outcomes += broken_bundle_cases(bundle, work, registry, data)
    outcomes += input_cases(bundle, model, work)
    outcomes.append(stale_tmp_case(model, work))
    outcomes += private_mode_cases(
        {"audit log": home / "audit.jsonl", "registry database": home / "registry.db"}
    )
    result = summarise(outcomes)
    print(table(result["cases"]))
    counts = {k: v for k, v in result.items() if k.startswith("probe_")}
    print(json.dumps(counts))
    result.update(pii_scores())
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = describe_machine()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.output} in {result['seconds']} s")
    if args.keep or result["probe_clean"] < result["probe_cases"]:
        print(f"server logs, bundles and files are in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
