"""Atomic file and directory writes: a crash never leaves a half-written result."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bizlm.log import logger

#: temporary folders named without an owner count as stale once unchanged this long
STALE_AFTER_SECONDS = 24 * 3600
#: this host, as it appears in temporary folder names (only letters, digits and dots)
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(
    path: Path, text: str, encoding: str = "utf-8", private: bool = False
) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename.

    ``private`` makes the file readable by its owner only (0600), for customer texts.
    """
    atomic_write_bytes(path, text.encode(encoding), private)


def atomic_write_bytes(path: Path, data: bytes, private: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    ``private`` makes the file readable by its owner only (0600), for customer texts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if not private:  # mkstemp creates 0600; give the usual file mode
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target``.

    On any exception the temporary folder is removed and ``target`` is left as it was. The
    temporary folder's name holds this host and process id, so that the next write into the
    same folder removes what a killed writer left (see :func:`remove_stale_folders`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_folders(target)
    owner = f"{_HOST}-{os.getpid()}"
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{owner}-", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp creates 0700; give the usual folder mode
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{owner}-", dir=target.parent))
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale_folders(target: Path) -> None:
    """Remove temporary folders beside ``target`` that writers killed mid-write left behind.

    A folder is stale when its name holds this host and the id of a process that is gone
    (whatever target it was for), or, for a folder of ``target`` named without an owner
    (by older versions), when it has not changed for :data:`STALE_AFTER_SECONDS`. A folder
    of another host or of a live process is kept. Each removal is logged with its size.
    """
    target = Path(target)
    owned = re.compile(rf".+\.(?:tmp|old)-{re.escape(_HOST)}-(?P<pid>\d+)-[^-]+")
    unowned = re.compile(rf"{re.escape(target.name)}\.(?:tmp|old)-[^-]+")
    for folder in target.parent.glob(".*.*-*"):
        name = folder.name[1:]
        match = owned.fullmatch(name)
        if match:
            stale = not _process_alive(int(match["pid"]))
        else:
            stale = bool(unowned.fullmatch(name)) and _unchanged_for(folder, STALE_AFTER_SECONDS)
        if stale and folder.is_dir() and not folder.is_symlink():
            _remove(folder)


def _remove(folder: Path) -> None:
    try:
        size = _folder_size(folder)
    except FileNotFoundError:  # another writer removed it first
        return
    shutil.rmtree(folder, ignore_errors=True)
    logger.warning("Removed %s (%.1f MB), left behind by an interrupted write.", folder, size / 1e6)


def _unchanged_for(folder: Path, seconds: float) -> bool:
    try:
        return time.time() - folder.stat().st_mtime > seconds
    except FileNotFoundError:
        return False


def _process_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # on Windows os.kill would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _folder_size(folder: Path) -> int:
    return sum(f.lstat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
