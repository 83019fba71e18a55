"""Where a replay goes: a monitor folder (in-process) or a running service over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bizlm.apps.risk.config import RiskError
from bizlm.apps.risk.items import Rejected
from bizlm.apps.risk.jsonl import at_lines
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.replay import ReplayPlan, batches


def _summary(plan: ReplayPlan) -> dict[str, Any]:
    return {
        "sent": 0,
        "accepted": 0,
        "duplicates": 0,
        "rejected": list(plan.unreadable),
        "alerts": 0,
    }


def replay_to_folder(plan: ReplayPlan, speed: float | None, folder: Path) -> dict[str, Any]:
    """Ingest each batch into the folder's monitor and run a pass after it."""
    monitor = Monitor.open(folder)
    summary = _summary(plan)
    try:
        for lines, batch in batches(plan, speed):
            result = monitor.ingest(batch)
            summary["sent"] += len(batch)
            summary["accepted"] += result.accepted
            summary["duplicates"] += result.duplicates
            summary["rejected"] += [r.as_dict() for r in at_lines(result.rejected, lines)]
            summary["alerts"] += len(monitor.step().alerts)
    finally:
        monitor.close()
    return summary


def replay_to_url(
    plan: ReplayPlan, speed: float | None, url: str, api_key: str | None
) -> dict[str, Any]:
    """POST each batch to ``URL/v1/risk/items``; alerts are raised by the service itself."""
    summary = _summary(plan)
    summary.pop("alerts")
    headers = {"X-API-Key": api_key} if api_key else {}
    endpoint = url.rstrip("/") + "/v1/risk/items"
    with httpx.Client(timeout=60) as client:
        for lines, batch in batches(plan, speed):
            try:
                answer = client.post(endpoint, json={"items": batch}, headers=headers)
            except httpx.HTTPError as exc:
                raise RiskError(f"Cannot reach {endpoint}: {exc}.", hint="Is it running?") from None
            body = answer.json()
            if answer.status_code not in (200, 422) or "accepted" not in body:
                message = body.get("error", {}).get("message", answer.text)
                raise RiskError(f"{endpoint} answered {answer.status_code}: {message}")
            summary["sent"] += len(batch)
            summary["accepted"] += body["accepted"]
            summary["duplicates"] += body["duplicates"]
            rejected = [
                Rejected(r["index"], r.get("id"), r["reason"], r.get("field"))
                for r in body["rejected"]
            ]
            summary["rejected"] += [r.as_dict() for r in at_lines(rejected, lines)]
    return summary
