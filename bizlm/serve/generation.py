"""Text generation behind the chat and completion routes: one worker thread per model.

A request becomes a :class:`GenerationJob`, queued on its model's :class:`GenerationWorker`.
The worker runs one job at a time, in arrival order, through ``GeneratePredictor.stream`` and
hands each text piece to the event loop, where :class:`Generation` reads them. Batching the
decoding steps of jobs that arrive together would replace :meth:`GenerationWorker._run`; the
routes only see jobs and pieces.

A job whose client has gone (:meth:`Generation.cancel`) stops after the piece being generated:
the worker closes the predictor's iterator, which ends the generation and frees the model for
the next job. The worker keeps the Prometheus counts: tokens in flight (the unspent
``max_tokens`` of the running job), generated tokens, and the time to the first piece.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bizlm.data.conversations import Conversation
from bizlm.errors import BizlmError
from bizlm.serve.errors import ApiError
from bizlm.serve.observe import ServerMetrics
from bizlm.tasks.generate_encoding import encode_prompt

log = logging.getLogger("bizlm.serve")
_END = object()


def count_tokens(predictor: Any, text: str) -> int:
    """How many tokens ``text`` is to the model's tokenizer."""
    return len(predictor.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0


def prompt_tokens(predictor: Any, conversation: Conversation) -> int:
    """Tokens of the prompt the model reads: the conversation with the bundle's system message,
    in its chat template, its start cut to ``max_length`` as the predictor cuts it."""
    system = predictor.info.task_settings.get("system")
    if system and conversation[0]["role"] != "system":
        conversation = [{"role": "system", "content": system}, *conversation]
    return len(encode_prompt(predictor.tokenizer, conversation, predictor.max_length))


@dataclass
class GenerationJob:
    """One request's conversation, decoding settings, and how its pieces reach the loop."""

    conversation: Conversation
    max_tokens: int
    overrides: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    pieces: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    version: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def push(self, item: Any) -> None:
        """Hand a piece (or the end, or an error) to the event loop, from the worker thread."""
        try:
            self.loop.call_soon_threadsafe(self.pieces.put_nowait, item)
        except RuntimeError:  # the event loop has closed: nobody reads this job any more
            self.stop.set()

    @property
    def finish_reason(self) -> str:
        """``length`` when the answer used all of ``max_tokens``, else ``stop``."""
        return "length" if self.completion_tokens >= self.max_tokens else "stop"


class GenerationWorker:
    """The thread that generates for one model, one job at a time."""

    def __init__(self, name: str, current: Callable[[], Any], metrics: ServerMetrics) -> None:
        self.name = name
        self._current = current
        self._in_flight = metrics.tokens_in_flight.labels(model=name)
        self._generated = metrics.generated_tokens.labels(model=name)
        self.first_token = metrics.first_token.labels(model=name)
        self._queue: queue.Queue[GenerationJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"bizlm-gen-{name}", daemon=True)
        self._thread.start()

    def submit(self, job: GenerationJob) -> None:
        """Queue a job; its pieces arrive on ``job.pieces``, then the end marker."""
        self._queue.put(job)

    def close(self) -> None:
        """Stop the thread once the queued jobs are done."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            if job.stop.is_set():  # the client left while the job waited
                job.push(_END)
                continue
            try:
                self._run(job)
            except Exception as exc:  # answered as an error; the worker goes on
                job.push(exc)
            finally:
                job.push(_END)

    def _run(self, job: GenerationJob) -> None:
        """Generate one job's answer, piece by piece, until it ends or its client leaves."""
        loaded = self._current()
        predictor = loaded.predictor
        job.version = loaded.version
        job.prompt_tokens = prompt_tokens(predictor, job.conversation)
        remaining = job.max_tokens
        self._in_flight.inc(remaining)
        answer: list[str] = []
        try:
            pieces = predictor.stream(
                job.conversation, max_new_tokens=job.max_tokens, **job.overrides
            )
            try:
                for piece in pieces:
                    if job.stop.is_set():
                        break
                    answer.append(piece)
                    job.push(piece)
                    spent = min(remaining, count_tokens(predictor, piece))
                    self._in_flight.dec(spent)
                    remaining -= spent
            finally:
                pieces.close()  # ends a generation its client abandoned
        finally:
            self._in_flight.dec(remaining)
            # the answer's text re-encoded: the stream gives text, not its tokens
            job.completion_tokens = min(job.max_tokens, count_tokens(predictor, "".join(answer)))
            self._generated.inc(job.completion_tokens)


class Generation:
    """A job seen from the event loop: its pieces in order, then ``None``."""

    def __init__(
        self, worker: GenerationWorker, job: GenerationJob, timeout_s: float, started: float
    ) -> None:
        self.worker = worker
        self.job = job
        self.timeout_s = timeout_s
        self.started = started
        self._first = True
        worker.submit(job)

    async def next_piece(self) -> str | None:
        """The next text piece, or None at the end; the first must come within the timeout
        (else 504), and an error of the model is raised as an :class:`ApiError`."""
        try:
            if self._first:
                item = await asyncio.wait_for(self.job.pieces.get(), self.timeout_s)
            else:
                item = await self.job.pieces.get()
        except TimeoutError:
            self.cancel()
            raise ApiError(
                504,
                "timeout",
                f"No generated text within {self.timeout_s:g} s (timeout): the model is busy "
                "with other requests; retry later.",
            ) from None
        if self._first and isinstance(item, str):
            self.worker.first_token.observe(time.perf_counter() - self.started)
        self._first = False
        if item is _END:
            return None
        if isinstance(item, BizlmError):
            raise ApiError(422, "invalid_request", str(item))
        if isinstance(item, BaseException):
            log.error("generation failed for %s: %r", self.worker.name, item, exc_info=item)
            raise ApiError(500, "internal_error", "The generation failed; see the server log.")
        return item

    def cancel(self) -> None:
        """Stop the generation after the piece being generated (the client has gone)."""
        self.job.stop.set()
