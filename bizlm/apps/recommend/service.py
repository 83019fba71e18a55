"""`POST /v1/recommend` on the bizlm model server.

The application is the model server (``bizlm.serve.create_app``, serving the registry's
production models as usual) plus a router for recommendations, so API keys, limits, metrics
and JSON errors are the server's. Keys need the ``predict`` scope; a user error is a 422 with
a one-line message.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from bizlm.apps.recommend.layout import AppLayout
from bizlm.apps.recommend.recommender import Recommender
from bizlm.apps.recommend.recommender import Request as RankRequest
from bizlm.errors import BizlmError
from bizlm.serve.app import create_app
from bizlm.serve.errors import ApiError, error_responses
from bizlm.serve.settings import ServeSettings

MAX_ITEMS = 1000


class RecommendBody(BaseModel):
    """A recommendation request: a known user, or a new user's recent items (or both)."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, max_length=200, description="A user id from the data.")
    recent_items: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=200, description="Items the user just used, oldest first."
    )
    candidates: list[Annotated[str, Field(max_length=200)]] | None = Field(
        None, min_length=1, max_length=MAX_ITEMS, description="Rank only these item ids."
    )
    k: int = Field(10, ge=1, le=100)
    exclude_seen: bool = Field(True, description="Leave out items the user already used.")


def recommend_router(recommender: Recommender, require_scope: Any) -> APIRouter:
    """The router with ``POST /v1/recommend``; ``require_scope`` is the model server's key check."""
    router = APIRouter()
    allowed = Depends(require_scope("predict"))

    @router.post(
        "/v1/recommend",
        tags=["recommend"],
        responses=error_responses(401, 403, 422, 429),
    )
    async def recommend(
        request: Request,
        body: RecommendBody,
        _: Any = allowed,
    ) -> dict[str, Any]:
        """Top-k items with scores and the recent items that explain each."""
        request.state.model = "recommend"
        wanted = RankRequest(**body.model_dump())
        try:
            return await asyncio.to_thread(recommender.recommend, wanted)
        except BizlmError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None

    return router


def create_recommend_app(folder: Path, settings: ServeSettings) -> FastAPI:
    """The model server for the application in ``folder``, with ``/v1/recommend`` added."""
    layout = AppLayout(Path(folder))
    recommender = Recommender(layout.root)
    app = create_app(dataclasses.replace(settings, bundles=()))
    app.include_router(recommend_router(recommender, app.state.require_scope))
    return app
