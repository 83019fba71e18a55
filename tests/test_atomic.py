"""Atomic writes: the whole new content or the old file, never a half-written one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bizlm import atomic
from bizlm.atomic import atomic_write_bytes, atomic_write_text


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
