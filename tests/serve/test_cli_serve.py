"""`bizlm serve` from the command line: start-up errors exit 2; a real start logs masked lines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bizlm.cli import run


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
