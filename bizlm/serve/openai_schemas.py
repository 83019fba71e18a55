"""Request and response bodies of the OpenAI-compatible routes (chat and text completions).

The requests take the OpenAI fields that apply to a local model; ``n`` must be 1 and
``max_tokens`` at most the server's ``max_new_tokens``. Fields the server does not support
(``logprobs``, ``tools``, ...) are refused by name rather than ignored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from bizlm.serve.schemas import ModelList


class StreamOptions(BaseModel):
    """Options of a streamed answer."""

    model_config = ConfigDict(extra="forbid")

    include_usage: bool = Field(False, description="Send a last chunk with the token usage.")


class SamplingOptions(BaseModel):
    """Fields shared by chat and text completion requests."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="The served model's name (see GET /v1/models).")
    max_tokens: int | None = Field(
        None, ge=1, description="Most tokens to generate (default: the bundle's max_new_tokens)."
    )
    temperature: float | None = Field(
        None, ge=0, le=2, description="0: greedy; above 0: sample. Default: the bundle's."
    )
    top_p: float | None = Field(None, gt=0, le=1, description="Sample from this much mass.")
    stop: str | list[str] | None = Field(
        None, description="Up to 4 strings that end the answer (not included)."
    )
    stream: bool = Field(False, description="Answer as server-sent events, piece by piece.")
    stream_options: StreamOptions | None = None
    n: int = Field(1, description="Answers per request: only 1 is supported.")
    user: str | None = Field(None, description="The end user's id; accepted and not used.")

    @field_validator("n")
    @classmethod
    def _one_answer(cls, n: int) -> int:
        if n != 1:
            raise ValueError(
                f"only n=1 is supported, not {n}: this server writes one answer per request; "
                "send several requests for several answers"
            )
        return n

    @field_validator("stop")
    @classmethod
    def _stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        stops = [stop] if isinstance(stop, str) else stop or []
        if len(stops) > 4:
            raise ValueError(f"at most 4 stop strings, not {len(stops)}")
        if any(not text for text in stops):
            raise ValueError("a stop string must not be empty")
        return stop

    def stops(self) -> list[str]:
        """The stop strings as a list."""
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


def request_models(
    max_chars: int, max_messages: int, max_new_tokens: int
) -> tuple[type[SamplingOptions], type[SamplingOptions]]:
    """The chat and completion request bodies with this server's limits in their schemas."""
    limited = Annotated[str, StringConstraints(max_length=max_chars)]

    class TextPart(BaseModel):
        """A text part of a message's content."""

        model_config = ConfigDict(extra="forbid")

        type: Literal["text"]
        text: limited

    class ChatMessage(BaseModel):
        """One turn of the conversation."""

        model_config = ConfigDict(extra="forbid")

        role: Literal["system", "user", "assistant"]
        content: limited | list[TextPart]
        name: str | None = Field(None, description="Accepted and not used.")

        def text(self) -> str:
            """The content as one text (text parts joined)."""
            if isinstance(self.content, str):
                return self.content
            return "".join(part.text for part in self.content)

    class Limited(SamplingOptions):
        @field_validator("max_tokens", "max_completion_tokens", check_fields=False)
        @classmethod
        def _within_limit(cls, max_tokens: int | None) -> int | None:
            if max_tokens is not None and max_tokens > max_new_tokens:
                raise ValueError(
                    f"{max_tokens} is over this server's limit of {max_new_tokens} tokens per "
                    "answer (max_new_tokens); ask for fewer"
                )
            return max_tokens

    class ChatCompletionRequest(Limited):
        """A conversation for the model to answer (OpenAI's chat completion request)."""

        messages: list[ChatMessage] = Field(
            min_length=1, max_length=max_messages, description="The conversation, user last."
        )
        max_completion_tokens: int | None = Field(None, ge=1, description="As max_tokens.")

    class CompletionRequest(Limited):
        """A prompt for the model to answer (OpenAI's text completion request)."""

        prompt: limited = Field(description="The prompt, answered as one user turn.")

    return ChatCompletionRequest, CompletionRequest


class Usage(BaseModel):
    """Tokens of the prompt (as the model read it) and of the answer."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    """The model's answer as a chat message."""

    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    """The one answer of a chat completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    """OpenAI's chat completion object."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage


class TextChoice(BaseModel):
    """The one answer of a text completion."""

    index: int = 0
    text: str
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class TextCompletion(BaseModel):
    """OpenAI's text completion object."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[TextChoice]
    usage: Usage


class OpenAIModel(BaseModel):
    """A generate model as OpenAI clients list it."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "bizlm"


class ModelCatalog(ModelList):
    """Every served model (``models``) and, for OpenAI clients, the generate ones (``data``)."""

    object: Literal["list"] = "list"
    data: list[OpenAIModel] = Field(
        default_factory=list, description="The models served for /v1/chat/completions."
    )


def sse(payload: dict[str, Any] | str) -> bytes:
    """One server-sent event: ``data: JSON`` (or ``data: [DONE]``) and a blank line."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()
