"""The drop folder: JSONL files put in the inbox are ingested, then moved out of the way.

Write a file elsewhere and move it in (or give it another suffix until it is complete): only
``*.jsonl`` files are picked up. After ingesting, ``NAME.jsonl`` moves to ``inbox/done/`` with
``NAME.report.json`` beside it (accepted, duplicates, and every rejected line with its reason).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from bizlm.apps.risk.jsonl import at_lines, read_items
from bizlm.apps.risk.monitor import IngestResult, Monitor
from bizlm.atomic import atomic_write_text

log = logging.getLogger("bizlm.apps.risk")
BATCH = 500


def ingest_file(monitor: Monitor, path: Path) -> IngestResult:
    """Ingest every item of a JSONL file; rejected items carry their line number."""
    values, lines, rejected = read_items(path)
    result = IngestResult(rejected=list(rejected))
    for start in range(0, len(values), BATCH):
        part = monitor.ingest(values[start : start + BATCH])
        result.accepted += part.accepted
        result.duplicates += part.duplicates
        result.rejected += at_lines(part.rejected, lines[start : start + BATCH])
    return result


class DropWatcher:
    """Ingests the ``*.jsonl`` files of a monitor's inbox."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.inbox = monitor.folder.path(monitor.folder.config.inbox)

    def scan(self) -> list[dict[str, Any]]:
        """Ingest every file waiting in the inbox; returns one report per file."""
        if not self.inbox.is_dir():
            return []
        reports = []
        for path in sorted(self.inbox.glob("*.jsonl")):
            reports.append(self._take(path))
        return reports

    def _take(self, path: Path) -> dict[str, Any]:
        done = self.inbox / "done"
        done.mkdir(exist_ok=True)
        try:
            result = ingest_file(self.monitor, path)
            report: dict[str, Any] = {"file": path.name, **result.as_dict()}
        except OSError as exc:
            report = {"file": path.name, "error": f"cannot read the file: {exc}"}
        atomic_write_text(done / f"{path.stem}.report.json", json.dumps(report, indent=2))
        os.replace(path, done / path.name)
        log.info("inbox %s: %s", path.name, {k: v for k, v in report.items() if k != "rejected"})
        if report.get("rejected"):
            log.warning(
                "inbox %s: %d lines rejected, not stored (first: %s); every line and reason is in "
                "%s",
                path.name,
                len(report["rejected"]),
                report["rejected"][0]["reason"],
                done / f"{path.stem}.report.json",
            )
        return report
