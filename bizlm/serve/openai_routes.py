"""OpenAI-compatible routes for generate bundles: ``/v1/chat/completions``, ``/v1/completions``.

They take OpenAI's request bodies and answer OpenAI's objects, so the official clients work
with ``base_url=http://HOST:PORT/v1`` and an API key of the server (``Authorization: Bearer``).
``model`` names a served generate bundle. With ``stream: true`` the answer comes as
server-sent events: a chunk per text piece, a last chunk with the finish reason (and, with
``stream_options.include_usage``, one with the usage), then ``data: [DONE]``. A client that
disconnects mid-stream stops its generation at once. Besides its requests, a key's generated
tokens are limited (``--tokens-per-minute``; see :class:`GeneratedTokenLimit`). A prompt
longer than the bundle's ``max_length`` keeps its end: its start is cut, as the predictor
cuts it.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import StreamingResponse
from starlette.types import Send

from bizlm.data.conversations import Conversation, parse_messages, single_turn
from bizlm.errors import BizlmError
from bizlm.pii import mask
from bizlm.serve.auth import GeneratedTokenLimit
from bizlm.serve.errors import ApiError, error_responses
from bizlm.serve.generation import Generation, GenerationJob
from bizlm.serve.openai_schemas import (
    ChatCompletion,
    ModelCatalog,
    OpenAIModel,
    SamplingOptions,
    TextCompletion,
    request_models,
    sse,
)
from bizlm.serve.schemas import ModelInfo
from bizlm.serve.served import ServedModel
from bizlm.serve.settings import ServeSettings

_ERRORS = error_responses(400, 401, 403, 404, 413, 422, 429, 503, 504)
_STREAM_DOC = {"text/event-stream": {"schema": {"type": "string"}}}


class ClosingStream(StreamingResponse):
    """A streamed answer whose body iterator is closed however the stream ends (a client that
    disconnects included), so the generation behind it stops at once."""

    async def stream_response(self, send: Send) -> None:
        """Send the stream, then close its iterator."""
        try:
            await super().stream_response(send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


def model_catalog(models: dict[str, ServedModel]) -> ModelCatalog:
    """Every served model, and the generate ones as OpenAI model objects."""
    return ModelCatalog(
        models=[ModelInfo(**m.current.describe(n)) for n, m in sorted(models.items())],
        data=[
            OpenAIModel(id=name, created=_timestamp(m.current.predictor.info.created))
            for name, m in sorted(models.items())
            if m.current.generates
        ],
    )


def _timestamp(created: str | None) -> int:
    """Unix seconds of an ISO date (0 when unknown)."""
    try:
        return int(datetime.fromisoformat(created).timestamp()) if created else 0
    except ValueError:
        return 0


def decoding_overrides(body: SamplingOptions, bundle_stops: list[str]) -> dict[str, Any]:
    """The predictor's decoding overrides for an OpenAI request: temperature 0 is greedy, a
    temperature above 0 or a top_p samples, neither keeps the bundle's settings; the request's
    stop strings add to the bundle's."""
    overrides: dict[str, Any] = {}
    if body.temperature == 0:
        overrides.update(do_sample=False, temperature=None, top_p=None)
    elif body.temperature is not None or body.top_p is not None:
        overrides.update(do_sample=True, temperature=body.temperature, top_p=body.top_p)
    if body.stop:
        overrides["stop"] = [*bundle_stops, *body.stops()]
    return overrides


def add_openai_routes(
    app: FastAPI,
    settings: ServeSettings,
    served: Callable[[str], ServedModel],
    caller: Any,
) -> None:
    """Add the chat and text completion routes; ``served`` finds a model by name (else 404)
    and ``caller`` is the dependency that checks API keys (predict scope) and rate limits."""
    chat_request, completion_request = request_models(
        settings.max_text_chars, settings.max_texts, settings.max_new_tokens
    )
    token_limit = GeneratedTokenLimit(settings.tokens_per_minute)

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        tags=["openai"],
        responses={**_ERRORS, 200: {"content": _STREAM_DOC}},
    )
    async def chat_completions(request: Request, body: chat_request, _: caller) -> Any:
        """Answer a conversation (OpenAI chat completions); ``stream: true`` for events."""
        messages = [{"role": m.role, "content": m.text()} for m in body.messages]
        return await _answer(request, body, messages, chat=True)

    @app.post(
        "/v1/completions",
        response_model=TextCompletion,
        tags=["openai"],
        responses={**_ERRORS, 200: {"content": _STREAM_DOC}},
    )
    async def completions(request: Request, body: completion_request, _: caller) -> Any:
        """Answer a prompt as one user turn (OpenAI completions); ``stream: true`` for events."""
        return await _answer(request, body, single_turn(body.prompt, None, None), chat=False)

    def generator(name: str, request: Request) -> ServedModel:
        model = served(name)
        request.state.model = name
        if not model.current.generates:
            raise ApiError(
                400,
                "wrong_route",
                f"Model '{name}' is a classifier; it does not generate text. Send its texts to "
                f"POST /v1/models/{name}/predict.",
            )
        return model

    async def _answer(request: Request, body: Any, messages: Conversation, chat: bool) -> Any:
        started = time.perf_counter()
        model = generator(body.model, request)
        request.state.texts = [m["content"] for m in messages]
        try:
            conversation = parse_messages(messages, "messages", answered=False)
        except BizlmError as exc:
            raise ApiError(422, "invalid_messages", str(exc)) from None
        if settings.mask_input:
            conversation = await asyncio.to_thread(
                lambda: [{**m, "content": mask(m["content"])} for m in conversation]
            )
        predictor = model.current.predictor
        decoding = predictor.decoding
        max_tokens = (
            body.max_tokens
            or getattr(body, "max_completion_tokens", None)
            or min(decoding.max_new_tokens, settings.max_new_tokens)
        )
        overrides = decoding_overrides(body, decoding.stop)
        try:
            predictor.settings({**overrides, "max_new_tokens": max_tokens})
        except BizlmError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None
        key_id = getattr(request.state, "key_id", None)
        give_back = (
            token_limit.reserve(key_id, request.state.key_name, max_tokens) if key_id else None
        )
        job = GenerationJob(conversation, max_tokens, overrides, asyncio.get_running_loop())
        generation = Generation(model.generation(), job, settings.timeout_s, started, give_back)
        shape = _Shape(body.model, chat)
        if body.stream:
            try:
                first = await generation.next_piece()  # errors before it: HTTP errors
            except BaseException:
                generation.cancel()
                raise
            usage = bool(body.stream_options and body.stream_options.include_usage)
            return ClosingStream(
                _events(request, generation, first, shape, usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        parts = []
        try:
            while (piece := await generation.next_piece()) is not None:
                parts.append(piece)
        finally:
            generation.cancel()
        request.state.version = job.version
        return shape.answer("".join(parts), job)


class _Shape:
    """The OpenAI objects of one answer: a chat or a text completion, whole or in chunks."""

    def __init__(self, model: str, chat: bool) -> None:
        self.chat = chat
        prefix = "chatcmpl" if chat else "cmpl"
        self.head = {
            "id": f"{prefix}-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": model,
        }

    def answer(self, text: str, job: GenerationJob) -> dict[str, Any]:
        """The whole answer."""
        if self.chat:
            choice = {"message": {"role": "assistant", "content": text}}
        else:
            choice = {"text": text}
        choice.update(index=0, finish_reason=job.finish_reason, logprobs=None)
        kind = "chat.completion" if self.chat else "text_completion"
        return {**self.head, "object": kind, "choices": [choice], "usage": usage_of(job)}

    def chunk(self, piece: str | None, finish_reason: str | None = None) -> dict[str, Any]:
        """One streamed chunk: a text piece, or (``piece`` None) the finish reason."""
        if self.chat:
            delta = {"content": piece} if piece is not None else {}
            choice: dict[str, Any] = {"delta": delta}
        else:
            choice = {"text": piece or ""}
        choice.update(index=0, finish_reason=finish_reason, logprobs=None)
        return {**self.head, "choices": [choice]}

    def usage_chunk(self, job: GenerationJob) -> dict[str, Any]:
        """The last chunk of a stream that asked for usage."""
        return {**self.head, "choices": [], "usage": usage_of(job)}


def usage_of(job: GenerationJob) -> dict[str, int]:
    """Prompt, completion and total tokens of a finished job."""
    total = job.prompt_tokens + job.completion_tokens
    return {
        "prompt_tokens": job.prompt_tokens,
        "completion_tokens": job.completion_tokens,
        "total_tokens": total,
    }


async def _events(
    request: Request, generation: Generation, first: str | None, shape: _Shape, usage: bool
) -> AsyncIterator[bytes]:
    """The server-sent events of a streamed answer; an error after the first piece is sent as
    an error event (the HTTP status is already 200)."""
    job = generation.job
    try:
        if shape.chat:
            yield sse({**shape.chunk(""), "choices": [_role_delta()]})
        piece = first
        while piece is not None:
            yield sse(shape.chunk(piece))
            piece = await generation.next_piece()
        yield sse(shape.chunk(None, job.finish_reason))
        if usage:
            yield sse(shape.usage_chunk(job))
        yield sse("[DONE]")
    except ApiError as exc:
        yield sse({"error": {"code": exc.code, "message": exc.message}})
    finally:
        generation.cancel()
        request.state.version = job.version


def _role_delta() -> dict[str, Any]:
    """The first chat chunk's choice: the assistant's role, no text yet."""
    return {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
