"""Where bizlm keeps its cache: ``$BIZLM_HOME`` or ``~/.cache/bizlm``."""

from __future__ import annotations

import os
from pathlib import Path


def bizlm_home() -> Path:
    """Return the cache root (datasets, converted models), creating it if needed."""
    root = Path(os.environ.get("BIZLM_HOME") or Path.home() / ".cache" / "bizlm").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root
