"""Prometheus metrics and the per-request observer (metrics + audit log) of the model server."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bizlm.pii import mask_structured
from bizlm.serve.audit import AuditLog

NO_MODEL = "-"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
_FIRST_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ServerMetrics:
    """The server's metrics, in a registry of their own (so several apps can coexist)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bizlm_requests",
            "API requests answered, by model and HTTP status.",
            ["model", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bizlm_request_latency_seconds",
            "Time to answer an API request.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "bizlm_batch_size",
            "Texts per model call (micro-batches group concurrent requests).",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "bizlm_inference_seconds",
            "Time of one model call on a micro-batch.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "bizlm_queue_depth",
            "Requests waiting for a micro-batch.",
            ["model"],
            registry=self.registry,
        )
        self.first_token = Histogram(
            "bizlm_time_to_first_token_seconds",
            "Time from a chat or completion request to its first generated text.",
            ["model"],
            buckets=_FIRST_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.generated_tokens = Counter(
            "bizlm_generated_tokens",
            "Tokens generated for chat and completion requests.",
            ["model"],
            registry=self.registry,
        )
        self.tokens_in_flight = Gauge(
            "bizlm_tokens_in_flight",
            "Tokens still to generate for the generations running now (each counts its "
            "max_tokens until it ends).",
            ["model"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "bizlm_model_reloads",
            "Times a newly promoted version replaced the served one.",
            ["model"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class ObserveMiddleware:
    """ASGI middleware: count, time and audit every ``/v1/`` request.

    ``audit`` returns the running audit log, if any. Route handlers leave details in the
    request state: ``model`` (only for a served model, which keeps label values bounded),
    ``version``, ``key_name`` and ``texts``.
    """

    def __init__(
        self, app: ASGIApp, metrics: ServerMetrics, audit: Callable[[], AuditLog | None]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then record its status and latency."""
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - started
            state = scope.get("state") or {}
            model = state.get("model", NO_MODEL)
            self.metrics.requests.labels(model=model, status=str(status)).inc()
            self.metrics.latency.labels(model=model).observe(elapsed)
            audit = self.audit()
            if audit is not None:
                texts = state.get("texts")
                audit.record(
                    {
                        "key_name": state.get("key_name"),
                        "model": state.get("model"),
                        "version": state.get("version"),
                        "path": mask_structured(scope["path"]),
                        "status": status,
                        "latency_ms": round(elapsed * 1000, 3),
                        "n_texts": len(texts) if texts is not None else None,
                    },
                    texts,
                )
