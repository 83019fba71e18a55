"""The desk's reply as server-sent events, read from the agent's iterator in worker threads.

Each event is ``data: JSON``: ``{"type": "delta", "text": ...}`` for each checked piece of a
generated reply, then ``{"type": "reply", ...}`` with the whole reply (what ``POST
/v1/support/chat`` answers), or ``{"type": "error", "error": {...}}`` when the answer failed
after the stream began.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator
from contextlib import aclosing
from typing import Any, TypeVar

from bizlm.errors import BizlmError
from bizlm.log import logger
from bizlm.serve.openai_schemas import sse

Item = TypeVar("Item")
_END = object()


async def in_threads(iterator: Generator[Item, None, None]) -> AsyncGenerator[Item, None]:
    """The items of a blocking generator, each computed in a worker thread; however the
    reading ends (a client gone included), the generator is closed once its step in progress
    is over, so the work behind it stops and its locks are released."""
    step: asyncio.Future[Any] | None = None
    try:
        while True:
            step = asyncio.ensure_future(asyncio.to_thread(next, iterator, _END))
            item = await asyncio.shield(step)
            if item is _END:
                return
            yield item
    finally:
        if step is not None and not step.done():
            await asyncio.wait([step])
        await asyncio.to_thread(iterator.close)


async def reply_events(
    events: Generator[Any, None, None], finish: Callable[[Any], dict[str, Any]]
) -> AsyncIterator[bytes]:
    """Server-sent events of an answer stream: a delta per text piece, then ``finish`` of the
    final answer as the reply event; a failure after the start becomes an error event."""
    try:
        async with aclosing(in_threads(events)) as pieces:
            async for event in pieces:
                if isinstance(event, str):
                    yield sse({"type": "delta", "text": event})
                else:
                    yield sse({"type": "reply", **finish(event)})
    except BizlmError as exc:
        yield sse({"type": "error", "error": {"code": "bad_input", "message": exc.message}})
    except Exception:  # the stream has begun: an event, not a broken connection
        logger.exception("the support desk failed while streaming a reply")
        error = {"code": "internal_error", "message": "The desk could not finish the reply."}
        yield sse({"type": "error", "error": error})
