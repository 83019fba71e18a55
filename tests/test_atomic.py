"""Atomic writes: the whole new content or the old file, never a half-written one."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bizlm import atomic
from bizlm.atomic import atomic_directory, atomic_write_bytes, atomic_write_text


def test_bytes_are_written_with_the_usual_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "vectors.npy"
    atomic_write_bytes(target, b"\x00\x01binary")
    assert target.read_bytes() == b"\x00\x01binary"
    expected = 0o666 & ~atomic._umask()
    assert stat.S_IMODE(target.stat().st_mode) == expected


def test_text_keeps_its_characters_and_line_ends(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    atomic_write_text(target, "第一行\r\nsecond\n")
    assert target.read_bytes() == "第一行\r\nsecond\n".encode()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "faq_vectors.npy"
    target.write_bytes(b"old")

    def failing_replace(source: str, destination: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq_vectors.npy"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_writer_leaves_a_folder_the_next_write_removes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "bundle"
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".bundle.tmp-")
    with caplog.at_level(logging.WARNING, logger="bizlm"), atomic_directory(target) as staging:
        (staging / "model.safetensors").write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    assert f"Removed {left} (2.0 MB)" in caplog.text


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from bizlm.atomic import atomic_directory
with atomic_directory(Path(sys.argv[1])) as staging:
    (staging / "model.safetensors").write_bytes(bytes(2_000_000))
    print("writing", flush=True)
    time.sleep(60)
"""


def test_folders_of_live_writers_other_hosts_and_other_files_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    live = tmp_path / f".bundle.tmp-{atomic._HOST}-{os.getppid()}-a1b2"
    dead = tmp_path / f".checkpoint.old-{atomic._HOST}-{_dead_pid()}-c3d4"
    elsewhere = tmp_path / f".bundle.tmp-{atomic._HOST}x-{_dead_pid()}-e5f6"
    user_folder = tmp_path / ".bundle.backup-1"
    for folder in (live, dead, elsewhere, user_folder):
        folder.mkdir()
    with atomic_directory(target):
        pass
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"bundle", live.name, elsewhere.name, user_folder.name}


def test_unowned_temporary_folders_are_removed_only_when_old(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    old, recent = tmp_path / ".bundle.tmp-k2j4x9", tmp_path / ".bundle.old-4242"
    old.mkdir()
    recent.mkdir()
    day_ago = time.time() - atomic.STALE_AFTER_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    with atomic_directory(target):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [recent.name, "bundle"]


def test_private_write_is_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        atomic_write_text(tmp_path / "feedback.jsonl", "a customer's words\n", private=True)
        atomic_write_text(tmp_path / "report.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "feedback.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o666
