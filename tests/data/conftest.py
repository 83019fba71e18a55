"""Fixtures of the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty BIZLM_HOME for one test."""
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
