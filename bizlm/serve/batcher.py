"""Micro-batching: requests for one model are grouped and run on that model's own thread.

A request becomes a :class:`Job` whose future the event loop awaits. The worker thread takes
the oldest job, then keeps taking jobs for up to ``max_wait_s`` (or until ``max_batch_size``
texts are gathered) and hands the whole group to ``handler`` in one call. Under load the queue
is never empty, so batches fill without waiting; with one client a request waits at most
``max_wait_s``. A job cancelled before its batch starts (the client timed out) is skipped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

BatchHandler = Callable[[list["Job"]], list[Any]]
BatchObserver = Callable[[int, float], None]


@dataclass
class Job:
    """Texts of one request, what to compute for them, and where to put the answer."""

    texts: list[str]
    explain: str | None = None
    future: Future[Any] = field(default_factory=Future)


class MicroBatcher:
    """One worker thread that runs jobs for one model in groups."""

    def __init__(
        self,
        name: str,
        handler: BatchHandler,
        max_batch_size: int = 32,
        max_wait_s: float = 0.005,
        observer: BatchObserver | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.observer = observer
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._carry: Job | None = None
        self._thread = threading.Thread(target=self._loop, name=f"bizlm-{name}", daemon=True)
        self._thread.start()

    def submit(self, texts: list[str], explain: str | None = None) -> Future[Any]:
        """Queue texts; the future resolves to the handler's answer for this job."""
        job = Job(list(texts), explain)
        self._queue.put(job)
        return job.future

    def depth(self) -> int:
        """Jobs waiting for a batch."""
        return self._queue.qsize() + (self._carry is not None)

    def alive(self) -> bool:
        """True while the worker thread runs."""
        return self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Finish the jobs already queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _next_batch(self) -> list[Job] | None:
        first = self._carry if self._carry is not None else self._queue.get()
        self._carry = None
        if first is None:
            return None
        jobs, count = [first], len(first.texts)
        deadline = time.monotonic() + self.max_wait_s
        while count < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0:
                    job = self._queue.get(timeout=remaining)
                else:
                    job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # keep the stop marker for after this batch
                break
            if count + len(job.texts) > self.max_batch_size:
                self._carry = job
                break
            jobs.append(job)
            count += len(job.texts)
        return jobs

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            live = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if not live:
                continue
            started = time.perf_counter()
            try:
                answers = self.handler(live)
            except BaseException as exc:  # the thread must survive any model failure
                for job in live:
                    job.future.set_exception(exc)
            else:
                for job, answer in zip(live, answers, strict=True):
                    job.future.set_result(answer)
            if self.observer is not None:
                self.observer(sum(len(job.texts) for job in live), time.perf_counter() - started)
