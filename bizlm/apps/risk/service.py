"""The risk monitor's HTTP service: the model server plus ``/v1/risk/*`` and the dashboard.

It is :func:`bizlm.serve.create_app` (API keys, limits, metrics, JSON errors, the topic and
sentiment models at ``/v1/models``) with one more router, and a background loop that classifies
new items, runs the rules, delivers webhooks and picks up files dropped in the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from bizlm.apps.risk.alerting import acknowledge, list_alerts, series_start, topic_series
from bizlm.apps.risk.config import RiskError, parse_window
from bizlm.apps.risk.items import Rejected
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.sinks import list_outbox
from bizlm.apps.risk.watcher import DropWatcher
from bizlm.serve.app import create_app
from bizlm.serve.errors import ApiError
from bizlm.serve.manager import bundle_name
from bizlm.serve.settings import ServeSettings

if TYPE_CHECKING:
    from bizlm.apps.risk.broker import StreamConsumer

log = logging.getLogger("bizlm.apps.risk")
DASHBOARD = Path(__file__).with_name("dashboard.html")
MAX_ITEMS_PER_REQUEST = 1000


class ItemBatch(BaseModel):
    """``POST /v1/risk/items``: items are checked one by one, so each may be any JSON value."""

    items: list[Any] = Field(min_length=1, max_length=MAX_ITEMS_PER_REQUEST)


def _window(value: str | None, monitor: Monitor) -> int:
    if value is None:
        return monitor.folder.window_s
    try:
        return parse_window(value, "window")
    except RiskError as exc:
        raise ApiError(422, "invalid_window", str(exc)) from None


def _no_valid_items(rejected: list[Rejected]) -> str:
    """Why a batch was refused: the first rejected item's index, field and reason."""
    first = rejected[0]
    where = f"item {first.index}" + (f", field '{first.field}'" if first.field else "")
    more = f" (and {len(rejected) - 1} more, listed in 'rejected')" if len(rejected) > 1 else ""
    return f"No item of the batch was accepted: {where}: {first.reason}{more}."


def risk_router(
    monitor: Monitor, require_scope: Any, broker: StreamConsumer | None = None
) -> APIRouter:
    """The ``/v1/risk`` routes and the dashboard; ``require_scope`` is the server's key check,
    ``broker`` the Redis stream consumer whose counts the status shows, if any."""
    router = APIRouter(tags=["risk"])
    guarded = APIRouter(
        prefix="/v1/risk", tags=["risk"], dependencies=[Depends(require_scope("predict"))]
    )

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard() -> HTMLResponse:
        """The dashboard page (its data calls need a key when auth is on)."""
        return HTMLResponse(DASHBOARD.read_text(encoding="utf-8"))

    @guarded.post("/items")
    async def post_items(body: ItemBatch) -> Any:
        """Store a batch (idempotent by id); answer which items were rejected and why."""
        result = await asyncio.to_thread(monitor.ingest, body.items)
        answer = result.as_dict()
        if result.accepted + result.duplicates == 0:
            error = {"code": "no_valid_items", "message": _no_valid_items(result.rejected)}
            return JSONResponse({"error": error, **answer}, status_code=422)
        return answer

    @guarded.get("/items")
    async def get_items(
        limit: Annotated[int, Query(ge=1, le=500)] = 50, status: str | None = None
    ) -> dict[str, Any]:
        """The newest items with their labels, entities, status and error."""
        rows = await asyncio.to_thread(monitor.store.latest, limit, status)
        return {"items": rows, "counts": await asyncio.to_thread(monitor.store.counts_by_status)}

    @guarded.get("/trends")
    async def trends(
        window: str | None = None, entity: str | None = None, last: int = Query(48, ge=1, le=2000)
    ) -> dict[str, Any]:
        """Per topic: items, negatives and negative share of the last ``last`` windows (at
        most ``max_windows`` of risk.yaml; ``cut`` says that older classified items exist)."""
        window_s = _window(window, monitor)
        config = monitor.folder.config
        newest = monitor.bounds.latest(time.time())
        latest = await asyncio.to_thread(monitor.store.latest_time, newest)
        until = ((latest or 0) // window_s + 1) * window_s  # include the open window
        since = series_start(window_s, until, config.max_windows)
        counts = await asyncio.to_thread(
            monitor.store.window_counts, window_s, config.negative_label, entity, since, until
        )
        cut = await asyncio.to_thread(monitor.store.classified_before, since, entity)
        series = topic_series(counts, window_s, until, config.max_windows)
        return {
            "window_s": window_s,
            "max_windows": config.max_windows,
            "cut": cut,
            "topics": {
                topic: [
                    {
                        "start": s.start,
                        "count": s.count,
                        "negatives": s.negatives,
                        "share": round(s.share, 4),
                    }
                    for s in stats[-last:]
                ]
                for topic, stats in sorted(series.items())
            },
        }

    @guarded.get("/alerts")
    async def alerts(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """The newest alerts first."""
        return {"alerts": await asyncio.to_thread(list_alerts, monitor.store, limit)}

    @guarded.post("/alerts/{alert_id}/ack")
    async def ack(alert_id: int) -> dict[str, Any]:
        """Acknowledge an alert."""
        row = await asyncio.to_thread(acknowledge, monitor.store, alert_id)
        if row is None:
            raise ApiError(404, "alert_not_found", f"No alert with id {alert_id}.")
        return row

    @guarded.get("/outbox")
    async def outbox(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Webhook deliveries: pending (with attempts and last error), delivered, dead."""
        return {"outbox": await asyncio.to_thread(list_outbox, monitor.store, limit)}

    @guarded.get("/status")
    async def status() -> dict[str, Any]:
        """Item counts by status, the topics, the rules and the Redis stream consumer's counts."""
        return {
            "items": await asyncio.to_thread(monitor.store.counts_by_status),
            "broker": broker.stats.as_dict() if broker is not None else None,
            "topics": monitor.classifier.topics,
            "rules": [rule.model_dump() for rule in monitor.rules],
            "window_s": monitor.folder.window_s,
        }

    router.include_router(guarded)
    return router


async def _background(monitor: Monitor, watcher: DropWatcher | None, interval: float) -> None:
    while True:
        try:
            if watcher is not None:
                await asyncio.to_thread(watcher.scan)
            await asyncio.to_thread(monitor.step)
        except Exception as exc:  # keep serving; the next pass retries
            log.error("risk background pass failed: %r", exc)
        await asyncio.sleep(interval)


def _model_role(monitor: Monitor, bundle: Path) -> str | None:
    """``topic`` or ``sentiment`` when ``bundle`` is that model of the monitor's folder."""
    config = monitor.folder.config
    for role, relative in (("topic", config.topic_model), ("sentiment", config.sentiment_model)):
        if monitor.folder.path(relative).resolve() == bundle.resolve():
            return role
    return None


def create_risk_app(
    monitor: Monitor,
    settings: ServeSettings,
    interval_s: float = 1.0,
    watch: bool = True,
    broker: StreamConsumer | None = None,
) -> FastAPI:
    """The model server for ``settings`` plus the risk routes and background loop, and
    ``broker`` (a Redis stream consumer) in a thread of its own while the app runs.

    The monitor's topic and sentiment models, when among the served bundles, are loaded once:
    the server serves the monitor's copies, and the monitor classifies through the server's
    micro-batchers, so its batches and the API's requests never run a model at the same time.
    """
    roles = {path: _model_role(monitor, path) for path in settings.bundles}
    served = {path: role for path, role in roles.items() if role is not None}
    classifier = monitor.classifier
    app = create_app(settings, {path: getattr(classifier, role) for path, role in served.items()})
    for path, role in served.items():
        setattr(classifier, role, app.state.queued_predictor(bundle_name(path)))
    watcher = DropWatcher(monitor) if watch else None
    app.include_router(risk_router(monitor, app.state.require_scope, broker))
    serve_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(inner: FastAPI) -> AsyncIterator[None]:
        async with serve_lifespan(inner):
            loop = asyncio.create_task(_background(monitor, watcher, interval_s))
            stop = threading.Event()
            consumer = None
            if broker is not None:
                consumer = threading.Thread(target=broker.run, args=(stop,), name="risk-broker")
                consumer.start()
            try:
                yield
            finally:
                stop.set()
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
                if consumer is not None:
                    await asyncio.to_thread(consumer.join)

    app.router.lifespan_context = lifespan
    return app
