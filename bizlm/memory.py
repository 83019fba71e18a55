"""Resident memory of a process, measured one way for training, benchmarks and probes."""

from __future__ import annotations

import sys
from pathlib import Path

_PROC = Path("/proc")


def rss_mib(pid: int | None = None, *, peak: bool = False) -> float:
    """Resident memory of process ``pid`` (default: this one) in MiB: now, or with ``peak``
    the most it has held since its program started.

    On Linux it is read from ``/proc/PID/status`` (``VmRSS``, ``VmHWM``); the peak restarts
    at exec, where ``ru_maxrss`` would carry a forking parent's peak over. Elsewhere the peak
    (of this process only) comes from ``getrusage`` and the current size from psutil.
    Raises ``FileNotFoundError`` on Linux once the process has gone.
    """
    if (_PROC / "self" / "status").is_file():
        key = "VmHWM:" if peak else "VmRSS:"
        status = _PROC / (str(pid) if pid is not None else "self") / "status"
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return 0.0  # a zombie holds no memory
    if peak:
        if pid is not None:
            raise OSError("The peak memory of another process is only known on Linux.")
        import resource

        unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 2**20
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20
