"""Run the CLI and the servers for the probe: subprocesses, logs, timings, memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ENTRY = [sys.executable, "-c", "from bizlm.cli import main; main()"]


@dataclass
class CliResult:
    """Exit code, output and time of one ``bizlm`` run (code -1 when it ran past its limit)."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool

    @property
    def output(self) -> str:
        """Stdout and stderr together."""
        return self.stdout + self.stderr

    def summary(self) -> str:
        """``exit N: message``: the output from its first error line on (else its last line)."""
        if self.timed_out:
            return f"still running after {self.seconds:.0f} s"
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        first = next((i for i, line in enumerate(lines) if "error" in line.lower()), None)
        message = " ".join(lines[first:] if first is not None else lines[-1:])
        return f"exit {self.code}: {message[:300] or '(no output)'}"


def run_cli(
    args: list[str | bytes], timeout: float = 60, cwd: Path | None = None, env: dict | None = None
) -> CliResult:
    """Run ``bizlm ARGS`` (arguments may be raw bytes) and wait at most ``timeout`` seconds."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [*ENTRY, *args],
            capture_output=True,
            timeout=timeout,
            cwd=cwd or ROOT,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode(errors="replace")
        err = (expired.stderr or b"").decode(errors="replace")
        return CliResult(-1, out, err, time.perf_counter() - started, True)
    return CliResult(
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
        time.perf_counter() - started,
        False,
    )


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """A ``bizlm`` server subprocess on a free loopback port, logging to a file."""

    def __init__(self, args: list[str], log: Path, ready_path: str = "/readyz") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [*ENTRY, *args, "--host", "127.0.0.1", "--port", str(self.port)]
        with open(log, "w") as handle:  # a file, not a pipe: a full pipe would block it
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=os.environ
            )
        self._wait(ready_path)

    def _wait(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not become ready: {self.log.read_text()[-3000:]}")

    def log_size(self) -> int:
        """Bytes logged so far (a mark to read the log from later)."""
        return self.log.stat().st_size

    def log_since(self, mark: int) -> str:
        """What the server logged after ``mark``."""
        with open(self.log, "rb") as handle:
            handle.seek(mark)
            return handle.read().decode(errors="replace")

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MiB."""
        from bizlm.memory import rss_mib

        return rss_mib(self.process.pid)

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
