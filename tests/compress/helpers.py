"""Shared helpers for the compression tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bizlm.cli import run


def bundle_info(bundle: Path) -> dict[str, Any]:
    """The bundle's bizlm.json."""
    return json.loads((Path(bundle) / "bizlm.json").read_text(encoding="utf-8"))


def fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> str:
    """Run the CLI, expect exit code 2 and a one-line message holding every fragment."""
    code = run(argv)
    message = capsys.readouterr().err
    assert code == 2, message
    assert "Traceback" not in message
    flat = " ".join(message.split())
    for fragment in fragments:
        assert fragment in flat, f"{fragment!r} not in {flat!r}"
    return flat
