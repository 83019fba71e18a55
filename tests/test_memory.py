"""Resident memory: now and at peak, of this process and of another one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bizlm.memory import rss_mib

ROOT = Path(__file__).resolve().parent.parent


def test_this_process_peak_is_at_least_its_current_size() -> None:
    now = rss_mib()
    assert 10 < now <= rss_mib(peak=True)


def test_a_peak_stays_after_the_memory_is_freed() -> None:
    code = (
        "from bizlm.memory import rss_mib\n"
        'block = b"x" * (100 * 2**20)\n'
        "del block\n"
        "print(rss_mib(peak=True) - rss_mib())\n"
    )
    command = [sys.executable, "-c", code]
    freed = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    assert float(freed.stdout) > 90


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_another_process_is_measured_until_it_has_gone() -> None:
    waiting = [sys.executable, "-c", "import sys; print('up', flush=True); sys.stdin.read()"]
    child = subprocess.Popen(waiting, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        assert 1 < rss_mib(child.pid) <= rss_mib(child.pid, peak=True)
    finally:
        child.communicate(b"")
    with pytest.raises(FileNotFoundError):
        rss_mib(child.pid)
