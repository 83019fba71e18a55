"""`bizlm serve` from the command line: start-up errors exit 2; a real start logs masked lines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bizlm.cli import run
from bizlm.serve.settings import ServeSettings


def test_serve_refuses_an_empty_registry_and_non_bundles(tmp_path: Path, capsys):
    def error() -> str:
        return " ".join(capsys.readouterr().err.split())

    assert run(["serve", "--registry", f"sqlite:///{tmp_path / 'r.db'}"]) == 2
    assert "no production model" in error()
    assert run(["serve", str(tmp_path)]) == 2
    assert "is not a bizlm bundle" in error()
    assert run(["serve", "--max-texts", "0", "--no-auth"]) == 2
    assert "--max-texts must be positive" in error()
    assert run(["serve", "--header-timeout", "inf", "--no-auth"]) == 2
    assert "--header-timeout must be positive and finite, not inf" in error()


def test_serve_refuses_a_port_outside_1_to_65535(capsys):
    for port, bound in (
        ("99999", "less than or equal to 65535"),
        ("0", "greater than or equal to 1"),
    ):
        assert run(["serve", "--no-auth", "--port", port]) == 2
        error = " ".join(capsys.readouterr().err.split())
        assert f"Invalid value for '--port': Input should be {bound}" in error


def test_serve_refuses_out_of_range_numbers(capsys):
    for argv, message in (
        (["--max-wait-ms", "-1"], "--max-wait-ms must be 0 or more, not -1.0"),
        (["--timeout", "nan"], "--timeout must be positive and finite, not nan"),
        (["--max-batch-size", "-3"], "--max-batch-size must be positive and finite, not -3"),
        (["--threads", "0"], "Invalid value for '--threads': Input should be greater than"),
    ):
        assert run(["serve", "--no-auth", *argv]) == 2
        assert message in " ".join(capsys.readouterr().err.split())


@pytest.fixture
def started(monkeypatch) -> dict[str, Any]:
    """What `bizlm serve` would start: its settings, uvicorn's options and the thread count."""
    import torch
    import uvicorn

    from bizlm.cli import serve as serve_command

    seen: dict[str, Any] = {}
    monkeypatch.setattr(serve_command, "_check_sources", lambda settings: None)
    monkeypatch.setattr(serve_command, "create_app", lambda settings: settings)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, settings=app))
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: seen.update(threads=threads))
    monkeypatch.setattr("bizlm.pii.NameMasker.load", lambda bundle: f"names from {bundle}")
    monkeypatch.setattr(serve_command, "use_name_masker", lambda masker: seen.update(masker=masker))
    return seen


def test_serve_defaults_are_the_settings_defaults(started: dict[str, Any], tmp_path: Path):
    assert run(["serve", str(tmp_path)]) == 0
    assert started["settings"] == ServeSettings(bundles=(tmp_path,))
    assert (started["host"], started["port"], started["access_log"]) == ("127.0.0.1", 8000, True)


def test_every_serve_option_sets_its_setting(started: dict[str, Any], tmp_path: Path):
    argv = [
        *("serve", str(tmp_path), "--registry", "sqlite:///r.db", "--no-auth", "--port", "9001"),
        *("--max-batch-size", "4", "--max-wait-ms", "0", "--threads", "3", "--max-texts", "5"),
        *("--max-text-chars", "6", "--max-body-bytes", "7", "--max-explain-texts", "2"),
        *("--timeout", "7.5", "--max-header-bytes", "9", "--max-headers", "10"),
        *("--header-timeout", "2", "--poll-interval", "1.5", "--mask-input"),
        *("--mask-names", str(tmp_path / "ner"), "--audit-log", str(tmp_path / "audit.jsonl")),
        *("--audit-db", "--audit-texts", "--no-access-log"),
    ]
    assert run(argv) == 0
    assert started["settings"] == ServeSettings(
        registry_url="sqlite:///r.db",
        bundles=(tmp_path,),
        auth=False,
        port=9001,
        max_batch_size=4,
        max_wait_ms=0,
        threads=3,
        max_texts=5,
        max_text_chars=6,
        max_body_bytes=7,
        max_explain_texts=2,
        timeout_s=7.5,
        max_header_bytes=9,
        max_headers=10,
        header_timeout_s=2,
        poll_interval_s=1.5,
        mask_input=True,
        mask_names=tmp_path / "ner",
        audit_path=tmp_path / "audit.jsonl",
        audit_db=True,
        audit_texts=True,
        access_log=False,
    )
    assert started["port"] == 9001 and started["threads"] == 3
    assert started["access_log"] is False and started["timeout_graceful_shutdown"] == 8
    assert started["masker"] == f"names from {tmp_path / 'ner'}"


def test_serve_starts_answers_and_masks_its_log(tiny_bundles: list[Path], tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        "-c",
        "from bizlm.cli import main; main()",
        "serve",
        str(tiny_bundles[0]),
        "--no-auth",
        "--port",
        str(port),
    ]
    with open(log, "w") as handle:
        server = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=os.environ)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        answer = httpx.post(
            f"{url}/v1/models/tiny-1/predict", json={"text": "good"}, params={"mail": "a@b.io"}
        )
        assert answer.status_code == 200
        huge = httpx.get(f"{url}/healthz", headers={"X-Big": "a" * 40_000})
        assert huge.status_code == 431  # the default header limit is 32 KiB
    finally:
        server.terminate()
        server.wait(30)
    text = log.read_text()
    assert "predict?mail=[EMAIL]" in text and "a@b.io" not in text
    assert "[IP]:" in text and "127.0.0.1:" not in text.split("Uvicorn running")[-1]
