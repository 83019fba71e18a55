"""Text generation behind the chat and completion routes: one decoding thread per model.

A request becomes a :class:`GenerationJob`, queued on its model's :class:`GenerationWorker`.
The worker decodes the jobs that arrive together in one batch
(:class:`~bizlm.tasks.generate_decoder.BatchDecoder`): between two decoding steps new jobs join
the batch and finished ones leave it, so a short answer ends as soon as it stops and its slot
goes to the next job. Each text piece is handed to the event loop, where :class:`Generation`
reads them.

A job whose client has gone (:meth:`Generation.cancel`) leaves the batch before the next step.
When a new version of the model is swapped in, new jobs wait for the running batch to end and
then start on the new version. The worker keeps the Prometheus counts: tokens in flight (the
unspent ``max_tokens`` of the running jobs), generated tokens, rows per decoding step, and (in
:class:`Generation`) the time to the first piece.
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
from bizlm.tasks.generate_decoder import Answer, BatchDecoder

log = logging.getLogger("bizlm.serve")
_END = object()


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
    ended_by: str = ""  # stop, length or cancelled

    def push(self, item: Any) -> None:
        """Hand a piece (or the end, or an error) to the event loop, from the worker thread."""
        try:
            self.loop.call_soon_threadsafe(self.pieces.put_nowait, item)
        except RuntimeError:  # the event loop has closed: nobody reads this job any more
            self.stop.set()

    @property
    def finish_reason(self) -> str:
        """``length`` when the answer reached ``max_tokens``, else ``stop``."""
        return "length" if self.ended_by == "length" else "stop"


class GenerationWorker:
    """The thread that generates for one model, decoding up to ``max_rows`` jobs together."""

    def __init__(
        self, name: str, current: Callable[[], Any], metrics: ServerMetrics, max_rows: int = 16
    ) -> None:
        self.name = name
        self.max_rows = max_rows
        self._current = current
        self._in_flight = metrics.tokens_in_flight.labels(model=name)
        self._generated = metrics.generated_tokens.labels(model=name)
        self._rows = metrics.batch_size.labels(model=name)
        self.first_token = metrics.first_token.labels(model=name)
        self._queue: queue.Queue[GenerationJob | None] = queue.Queue()
        self._jobs: dict[Answer, GenerationJob] = {}  # the jobs in the decoder
        self._held: list[GenerationJob] = []  # jobs for a new version, waiting for the batch
        self._loaded: Any = None
        self._decoder: BatchDecoder | None = None
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
        closing = False
        while not (closing and not self._jobs and not self._held):
            if not self._jobs and self._held:
                held, self._held = self._held, []
                for job in held:
                    self._start(job)
            for job in self._arrivals(wait=not self._jobs and not closing):
                if job is None:
                    closing = True
                else:
                    self._start(job)
            for answer, job in list(self._jobs.items()):
                if job.stop.is_set():  # the client has gone: its row leaves the batch
                    answer.cancel()
                    self._finish(answer)
            if self._jobs:
                self._advance()

    def _arrivals(self, wait: bool) -> list[GenerationJob | None]:
        """The jobs queued now (waiting for the first one when ``wait``)."""
        arrived = [self._queue.get()] if wait else []
        while True:
            try:
                arrived.append(self._queue.get_nowait())
            except queue.Empty:
                return arrived

    def _start(self, job: GenerationJob) -> None:
        """Put a job into the batch (or hold it while the batch runs on an older version)."""
        if job.stop.is_set():  # the client left while the job waited
            job.push(_END)
            return
        loaded = self._current()
        if loaded is not self._loaded:
            if self._jobs:
                self._held.append(job)
                return
            self._loaded = loaded
            self._decoder = loaded.predictor.decoder(self.max_rows, self._rows.observe)
        predictor = loaded.predictor
        try:
            settings = predictor.settings({**job.overrides, "max_new_tokens": job.max_tokens})
            answer = predictor.answer(predictor.encode(job.conversation), settings)
        except Exception as exc:  # answered as an error; the worker goes on
            job.push(exc)
            job.push(_END)
            return
        job.version = loaded.version
        job.prompt_tokens = len(answer.prompt)
        self._in_flight.inc(job.max_tokens)
        self._jobs[answer] = job
        assert self._decoder is not None
        self._decoder.submit([answer])

    def _advance(self) -> None:
        """One decoding round; its new text goes to the jobs, and finished jobs end."""
        assert self._decoder is not None
        try:
            moved = self._decoder.advance()
        except Exception as exc:  # every job of the batch fails; the next start afresh
            for answer, job in list(self._jobs.items()):
                job.push(exc)
                answer.cancel()
                self._finish(answer)
            self._loaded = self._decoder = None
            return
        for answer in moved:
            job = self._jobs.get(answer)
            if job is None:
                continue
            if piece := answer.new_text():
                job.push(piece)
            new_tokens = len(answer.tokens) - job.completion_tokens
            job.completion_tokens = len(answer.tokens)
            self._in_flight.dec(new_tokens)
            self._generated.inc(new_tokens)
            if answer.finished:
                self._finish(answer)

    def _finish(self, answer: Answer) -> None:
        """End a job: its unspent tokens leave the in-flight count, and its stream ends."""
        job = self._jobs.pop(answer)
        job.ended_by = answer.reason
        self._in_flight.dec(job.max_tokens - job.completion_tokens)
        job.push(_END)


class Generation:
    """A job seen from the event loop: its pieces in order, then ``None``."""

    def __init__(
        self,
        worker: GenerationWorker,
        job: GenerationJob,
        timeout_s: float,
        started: float,
        on_end: Callable[[int], None] | None = None,
    ) -> None:
        self.worker = worker
        self.job = job
        self.timeout_s = timeout_s
        self.started = started
        self._on_end = on_end  # told the tokens generated, once, at cancel
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
        """Stop the generation after the piece being generated (the client has gone, or the
        answer was read to its end); the first call reports the tokens generated."""
        self.job.stop.set()
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            on_end(self.job.completion_tokens)
