"""The FastAPI application of ``bizlm serve``: routes, lifespan and background polling."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from bizlm.pii import NameMasker, mask, use_name_masker
from bizlm.predictor import Predictor
from bizlm.serve.audit import AuditLog
from bizlm.serve.auth import ANONYMOUS, KeyRing, Principal
from bizlm.serve.errors import ApiError, error_responses, install_error_handlers
from bizlm.serve.limits import BodyLimitMiddleware, HeaderCountMiddleware, bounded_path_numbers
from bizlm.serve.manager import ModelManager
from bizlm.serve.observe import ObserveMiddleware, ServerMetrics
from bizlm.serve.openai_routes import add_openai_routes, model_catalog
from bizlm.serve.openai_schemas import ModelCatalog
from bizlm.serve.predictions import build_predictions
from bizlm.serve.schemas import (
    ModelInfo,
    PredictResponse,
    Readiness,
    ReloadResult,
    Status,
    predict_request_model,
)
from bizlm.serve.served import QueuedPredictor, ServedModel
from bizlm.serve.settings import ServeSettings

log = logging.getLogger("bizlm.serve")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)
_COMMON_ERRORS = (401, 403, 429, 503)


@dataclass
class Runtime:
    """What exists while the app runs, from lifespan start to stop."""

    manager: ModelManager | None = None
    audit: AuditLog | None = None

    def running(self) -> ModelManager:
        """The model manager, or 503 before the app has started."""
        if self.manager is None or not self.manager.loaded:
            raise ApiError(503, "not_ready", "The server is starting; retry shortly.")
        return self.manager

    def models(self) -> dict[str, ServedModel]:
        """The served models, or 503 before the app has started."""
        return self.running().models


def create_app(
    settings: ServeSettings, preloaded: Mapping[Path, Predictor] | None = None
) -> FastAPI:
    """Build the server; models load and polling starts when the app starts (its lifespan).

    ``preloaded`` maps bundle paths of ``settings.bundles`` to predictors the caller has loaded
    already; they are served as they are instead of being loaded a second time.
    """
    settings.check()
    if settings.mask_names is not None:
        use_name_masker(NameMasker.load(settings.mask_names))
    metrics = ServerMetrics()
    keyring = KeyRing(settings.registry()) if settings.auth else None
    runtime = Runtime()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        manager = ModelManager(settings, metrics, preloaded)
        await asyncio.to_thread(manager.load_initial)
        if keyring is not None and await asyncio.to_thread(keyring.refresh) == 0:
            log.warning("no API keys yet: create one with `bizlm keys create --name NAME`")
        if settings.audit_path is not None or settings.audit_db:
            db_url = settings.registry() if settings.audit_db else None
            runtime.audit = AuditLog(settings.audit_path, db_url, settings.audit_texts)
        runtime.manager = manager
        poller = asyncio.create_task(_poll(manager, keyring, settings.poll_interval_s))
        try:
            yield
        finally:
            poller.cancel()
            runtime.manager = None
            await asyncio.to_thread(manager.close)
            if runtime.audit is not None:
                await asyncio.to_thread(runtime.audit.close)
                runtime.audit = None

    app = FastAPI(
        title="bizlm model server",
        version="1",
        description="Text classifiers and generators trained with bizlm, behind an authenticated "
        "JSON API; generators also answer OpenAI's chat and completion requests.",
        lifespan=lifespan,
        dependencies=[Depends(bounded_path_numbers)],
    )
    install_error_handlers(
        app, {"max_texts": settings.max_texts, "max_text_chars": settings.max_text_chars}
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeaderCountMiddleware, max_headers=settings.max_headers)
    app.add_middleware(ObserveMiddleware, metrics=metrics, audit=lambda: runtime.audit)
    _add_routes(app, settings, runtime, keyring, metrics)
    return app


def _served(runtime: Runtime, name: str) -> ServedModel:
    served = runtime.models().get(name)
    if served is None:
        raise ApiError(404, "model_not_found", f"No model named '{name}' is served.")
    return served


async def _poll(manager: ModelManager, keyring: KeyRing | None, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(manager.refresh)
            if keyring is not None:
                await asyncio.to_thread(keyring.refresh)
        except Exception as exc:  # a registry outage must not stop serving
            log.error("registry poll failed: %s", exc)


def _add_routes(
    app: FastAPI,
    settings: ServeSettings,
    runtime: Runtime,
    keyring: KeyRing | None,
    metrics: ServerMetrics,
) -> None:
    predict_request = predict_request_model(
        settings.max_texts, settings.max_text_chars, settings.max_explain_texts
    )

    def require_scope(scope: str) -> Any:
        """A dependency that admits keys holding ``scope`` (everyone when auth is off)."""

        async def check(  # async: no thread hop for an in-memory check
            request: Request,
            header_key: Annotated[str | None, Security(_api_key_header)] = None,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
        ) -> Principal:
            if keyring is None:
                return ANONYMOUS
            client = request.client.host if request.client else "unknown"
            key = await keyring.authenticate(
                header_key or (bearer.credentials if bearer else None), client
            )
            principal = Principal(key.name, key.scopes)
            request.state.key_name = key.name
            request.state.key_id = key.key_id
            if not principal.allows(scope):
                raise ApiError(403, "forbidden", f"Key '{key.name}' lacks the '{scope}' scope.")
            keyring.check_rate(key)
            return principal

        return check

    def caller(scope: str) -> Any:
        return Annotated[Principal, Depends(require_scope(scope))]

    # application routers added after create_app use the same keys, rates and key refresh
    app.state.require_scope = require_scope
    # application code that uses a served model goes through its micro-batcher
    app.state.queued_predictor = lambda name: QueuedPredictor(lambda: _served(runtime, name))
    predict_caller = caller("predict")
    admin_caller = caller("admin")

    def served_model(name: str, request: Request) -> ServedModel:
        served = _served(runtime, name)
        request.state.model = name
        return served

    @app.get("/healthz", response_model=Status, tags=["health"])
    async def healthz() -> Status:
        """The process is up."""
        return Status(status="ok")

    @app.get("/readyz", response_model=Readiness, tags=["health"], responses=error_responses(503))
    async def readyz() -> Any:
        """Models are loaded and their workers run: ready for traffic (else 503).

        ``versions`` says, per model, which version is served and which production version
        could not be loaded (and why) while the server keeps the last good one.
        """
        manager = runtime.manager
        models = manager.models if manager is not None else {}
        versions = manager.status() if manager is not None else {}
        alive = [n for n, m in models.items() if m.batcher.alive()]
        if alive and len(alive) == len(models):
            return Readiness(status="ready", models=sorted(alive), versions=versions)
        body = {
            "error": {"code": "not_ready", "message": "No model is ready to serve."},
            "versions": versions,
        }
        return JSONResponse(body, status_code=503)

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus_metrics() -> Response:
        """Prometheus metrics: requests, latency, batch sizes, queue depth."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get(
        "/v1/models",
        response_model=ModelCatalog,
        tags=["models"],
        responses=error_responses(*_COMMON_ERRORS),
    )
    async def list_models(_: predict_caller) -> ModelCatalog:
        """Every served model with its version, labels and metrics (``models``); the generate
        models also as OpenAI model objects (``data``), for OpenAI clients."""
        return model_catalog(runtime.models())

    @app.get(
        "/v1/models/{name}",
        response_model=ModelInfo,
        tags=["models"],
        responses=error_responses(*_COMMON_ERRORS, 404),
    )
    async def model_info(request: Request, name: str, _: predict_caller) -> ModelInfo:
        """One model's version, labels and metrics."""
        served = served_model(name, request)
        return ModelInfo(**served.current.describe(name))

    @app.post(
        "/v1/models/{name}/predict",
        response_model=PredictResponse,
        response_model_exclude_none=True,
        tags=["models"],
        responses=error_responses(*_COMMON_ERRORS, 400, 404, 413, 422, 504),
    )
    async def predict(
        request: Request, name: str, body: predict_request, _: predict_caller
    ) -> PredictResponse:
        """Classify one text or a list of texts; optionally top-k labels and explanations."""
        served = served_model(name, request)
        texts = body.input_texts()
        request.state.texts = texts
        if body.explain and len(texts) > settings.max_explain_texts:
            raise ApiError(
                422,
                "too_many_texts_to_explain",
                f"At most {settings.max_explain_texts} texts per request with explain "
                "(max_explain_texts).",
            )
        model_texts = (
            await asyncio.to_thread(lambda: [mask(t) for t in texts])
            if settings.mask_input
            else texts
        )
        result = await served.predict(model_texts, body.explain_method if body.explain else None)
        request.state.version = result.version
        return PredictResponse(
            model=name,
            version=result.version,
            predictions=build_predictions(result, body.top_k, body.return_probabilities),
        )

    add_openai_routes(app, settings, lambda name: _served(runtime, name), predict_caller)

    @app.post(
        "/v1/admin/reload",
        response_model=ReloadResult,
        tags=["admin"],
        responses=error_responses(*_COMMON_ERRORS),
    )
    async def reload(_: admin_caller) -> ReloadResult:
        """Check the registry now and serve newly promoted versions (admin scope).

        A production version that failed to load earlier is tried again.
        """
        manager = runtime.running()
        return ReloadResult(changed=await asyncio.to_thread(manager.refresh, retry_failed=True))
