"""Files that hold keys, audit events or customer texts: readable and writable by their owner only.

Every such file is created with mode 0600 whatever the umask, and an existing one is tightened to
0600 when the service opens it, so a log written by an earlier version does not stay world-readable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE_MODE = 0o600


def ensure_private_file(path: Path) -> Path:
    """Create ``path`` (and its folder) as an empty 0600 file, or tighten an existing one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)
    return path


def open_private_append(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open ``path`` for appending text, created 0600 if it does not exist yet."""
    ensure_private_file(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_MODE)
    return os.fdopen(fd, "a", encoding=encoding)


def sqlite_file_of(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL; None for other URLs and in-memory databases."""
    for prefix in ("sqlite+pysqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            rest = url.removeprefix(prefix).split("?", 1)[0]
            return None if rest in ("", ":memory:") else Path(rest)
    return None


def ensure_private_database(url: str) -> None:
    """Create a SQLite database file 0600 before SQLite opens it (its journals inherit the mode).

    Other database URLs are left alone: their server decides who can read them.
    """
    database = sqlite_file_of(url)
    if database is not None:
        ensure_private_file(database)
