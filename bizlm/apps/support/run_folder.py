"""A new folder for one run of a support command (a retrain, a reply model), never an old one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bizlm.apps.support.errors import SupportProjectError


def new_run_folder(root: Path, output: Path | None, kind: str) -> Path:
    """``output``, or ``root/<kind>/<UTC time>``; refused when it exists already."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    folder = Path(output) if output is not None else Path(root) / kind / stamp
    if folder.exists():
        raise SupportProjectError(
            f"{folder} already exists; each run writes a new folder and never replaces one.",
            hint="Pass another --output folder, or wait a second and run it again.",
        )
    return folder
