"""Where bizlm keeps its cache (``$BIZLM_HOME`` or ``~/.cache/bizlm``), and file checksums."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def bizlm_home() -> Path:
    """Return the cache root (datasets, converted models), creating it if needed."""
    root = Path(os.environ.get("BIZLM_HOME") or Path.home() / ".cache" / "bizlm").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
