"""The support desk service: the model server (``bizlm.serve``) plus the chat API and page.

API keys, body limits, Prometheus metrics and JSON error answers come from
:func:`bizlm.serve.create_app`, which also serves the intent model under ``/v1/models/intent``.
"""

import asyncio
import dataclasses
import uuid
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    create_model,
    field_validator,
    model_validator,
)

from bizlm.apps.support.agent import Answer, SupportAgent
from bizlm.apps.support.chat_stream import reply_events
from bizlm.apps.support.grounded.citations import SOURCES_ROUTE
from bizlm.apps.support.store import ConversationStore
from bizlm.serve.app import create_app
from bizlm.serve.errors import ApiError, error_responses
from bizlm.serve.manager import bundle_name
from bizlm.serve.openai_routes import ClosingStream
from bizlm.serve.settings import ServeSettings

PAGE = Path(__file__).parent / "static" / "chat.html"
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


class ChatMessage(BaseModel):
    """One customer message; ``session_id`` continues a conversation (new one if absent)."""

    model_config = ConfigDict(extra="forbid")

    session_id: StrictStr | None = Field(None, min_length=1, max_length=100)
    message: StrictStr = Field(min_length=1)

    @field_validator("message")
    @classmethod
    def _has_text(cls, message: str) -> str:
        if not message.strip():
            raise ValueError("the message holds only spaces; write a question")
        return message


class ChatReply(BaseModel):
    """The desk's reply."""

    session_id: str
    message_id: int = Field(description="Id of the reply; rate it with /v1/support/feedback.")
    answer: str
    kind: Literal["template", "faq", "generated", "handoff"]
    intent: str
    confidence: float
    sources: list[dict[str, Any]]
    handoff: bool
    handoff_reason: str | None = Field(
        None,
        description="Why the desk handed off instead of answering: a topic of deny_topics "
        "(denied_topic), a script the model cannot read (unreadable_language), or a generated "
        "reply held back (weak_retrieval, empty_reply, no_answer, unsupported); null otherwise.",
    )
    conversation: list[dict[str, Any]] | None = Field(
        None, description="On hand-off: the conversation so far (masked), as given to a person."
    )


class Feedback(BaseModel):
    """Thumbs up or down on a reply, optionally with the intent it should have had and, with a
    thumbs-down, the reply it should have been (``correct_reply``, stored PII-masked)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    message_id: int
    rating: Literal["up", "down"]
    correct_intent: str | None = None
    correct_reply: str | None = None

    @field_validator("correct_reply")
    @classmethod
    def _reply_has_text(cls, reply: str | None) -> str | None:
        if reply is not None and not reply.strip():
            raise ValueError(
                "the corrected reply holds only spaces; write the reply or leave it out"
            )
        return reply

    @model_validator(mode="after")
    def _reply_with_down(self) -> "Feedback":
        if self.correct_reply is not None and self.rating != "down":
            raise ValueError("correct_reply goes with rating 'down' (the reply was not right)")
        return self


class Source(BaseModel):
    """A passage of the knowledge base: where it is and its whole text."""

    passage_id: str
    file: str = Field(description="The document, relative to the project's docs/ folder.")
    heading: str = Field(description="The headings above the passage, outermost first.")
    page: int | None = Field(None, description="The PDF page it starts on, if any.")
    text: str


class FeedbackStored(BaseModel):
    """The stored feedback's id."""

    feedback_id: int


def support_router(agent: SupportAgent, store: ConversationStore, require_scope: Any) -> APIRouter:
    """Routes of the chat API and page; ``require_scope`` is the model server's key check."""
    router = APIRouter(tags=["support"])
    allowed = Depends(require_scope("predict"))
    limit = agent.project.settings.max_message_chars
    chat_message = create_model(
        "ChatRequest",
        __base__=ChatMessage,
        message=(StrictStr, Field(min_length=1, max_length=limit)),
    )
    feedback_request = create_model(
        "FeedbackRequest",
        __base__=Feedback,
        correct_reply=(str | None, Field(None, min_length=1, max_length=limit)),
    )
    errors = error_responses(400, 401, 403, 413, 422, 429)

    def record(session_id: str, reply: Answer) -> ChatReply:
        """Store the desk's reply (and, on hand-off, the hand-off) and describe it."""
        message_id = store.add_message(
            session_id, "desk", reply.text, reply.intent, reply.confidence, reply.kind
        )
        conversation = store.add_handoff(session_id) if reply.handoff else None
        return ChatReply(
            session_id=session_id,
            message_id=message_id,
            answer=reply.text,
            kind=reply.kind,  # type: ignore[arg-type]
            intent=reply.intent,
            confidence=round(reply.confidence, 4),
            sources=reply.sources,
            handoff=reply.handoff,
            handoff_reason=reply.handoff_reason,
            conversation=conversation,
        )

    def received(body: ChatMessage) -> str:
        """Store the customer's message; its session id (a new one when none is given)."""
        session_id = body.session_id or uuid.uuid4().hex
        store.add_message(session_id, "customer", body.message)
        return session_id

    @router.post("/v1/support/chat", response_model=ChatReply, responses=errors)
    async def chat(body: chat_message, _: Any = allowed) -> ChatReply:  # type: ignore[valid-type]
        """Answer a customer message and store both (PII masked)."""
        session_id = received(body)
        return record(session_id, await asyncio.to_thread(agent.answer, body.message))

    @router.post(
        "/v1/support/chat/stream",
        responses={**errors, 200: {"content": {"text/event-stream": {}}}},
    )
    async def chat_stream(body: chat_message, _: Any = allowed) -> ClosingStream:  # type: ignore[valid-type]
        """Answer a customer message as server-sent events: ``delta`` events with each
        checked sentence of a generated reply as it is written, then the ``reply`` event
        (the body ``POST /v1/support/chat`` answers). Both messages are stored (PII masked)."""
        session_id = received(body)

        def finish(reply: Answer) -> dict[str, Any]:
            return record(session_id, reply).model_dump()

        events = reply_events(agent.answer_stream(body.message), finish)
        return ClosingStream(events, media_type="text/event-stream")

    @router.post(
        "/v1/support/feedback",
        response_model=FeedbackStored,
        responses={**errors, **error_responses(404)},
    )
    async def feedback(body: feedback_request, _: Any = allowed) -> FeedbackStored:  # type: ignore[valid-type]
        """Store a thumbs up/down on one of the desk's replies (a corrected reply masked)."""
        message = store.message(body.message_id)
        if message is None or message["role"] != "desk":
            raise ApiError(404, "message_not_found", f"No desk reply has id {body.message_id}.")
        intents = agent.project.intents
        if body.correct_intent is not None and body.correct_intent not in intents:
            raise ApiError(
                422,
                "unknown_intent",
                f"correct_intent '{body.correct_intent}' is not one of {sorted(intents)}.",
            )
        feedback_id = store.add_feedback(
            body.message_id, body.rating, body.correct_intent, body.correct_reply
        )
        return FeedbackStored(feedback_id=feedback_id)

    @router.get(
        f"{SOURCES_ROUTE}/{{passage_id}}",
        response_model=Source,
        responses={**errors, **error_responses(404)},
    )
    async def source(passage_id: str, _: Any = allowed) -> Source:
        """A passage of the knowledge base that a generated reply cites."""
        passage = agent.grounded.passage(passage_id) if agent.grounded is not None else None
        if passage is None:
            raise ApiError(
                404, "source_not_found", f"No passage of the knowledge base has id '{passage_id}'."
            )
        return Source(
            passage_id=passage.id,
            file=passage.file,
            heading=passage.heading,
            page=passage.page,
            text=passage.text,
        )

    @router.get("/v1/support/conversations/{session_id}", responses=errors)
    async def conversation(session_id: str, _: Any = allowed) -> dict[str, Any]:
        """A session's messages (masked), oldest first."""
        return {"session_id": session_id, "messages": store.conversation(session_id)}

    @router.get("/support", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        """The chat page."""
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    @router.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/support")

    return router


def create_support_app(
    root: Path, settings: ServeSettings, database: Path | None = None
) -> tuple[FastAPI, ConversationStore]:
    """The model server for the project's intent model, with the support routes added.

    The intent model is loaded once: the server serves the agent's copy, and the agent
    classifies through the server's micro-batcher, in batches with the API's requests.
    """
    agent = SupportAgent(root)
    bundle = agent.intent_bundle
    settings = dataclasses.replace(
        settings, bundles=(bundle,), max_text_chars=agent.project.settings.max_message_chars
    )
    app = create_app(settings, preloaded={bundle: agent.intents})
    agent.use_served_intents(app.state.queued_predictor(bundle_name(bundle)))
    store = ConversationStore(database or Path(root) / "conversations.db")
    app.include_router(support_router(agent, store, app.state.require_scope))
    app.state.support_agent = agent
    return app, store
