"""Stream a ``generate`` answer as it is written, in pieces that join into the final answer.

:class:`AnswerStreamer` is a ``transformers`` ``TextIteratorStreamer`` fed by ``generate``
in a background thread. Each step it decodes the answer's tokens as a whole (as
``GeneratePredictor.generate`` does at the end), ends the answer at the first end token, and
holds text back while more tokens may still change it: leading and trailing whitespace (the
answer is stripped), an incomplete character, and a tail that may be the start of a stop
string (the answer is cut before the first one). :class:`StopFlag` ends the generation once
the reader has gone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import torch
from transformers import StoppingCriteria, TextIteratorStreamer

_INCOMPLETE = "\ufffd"  # what decoding writes for the bytes of a character not yet complete


def answer_text(text: str, stops: Sequence[str]) -> str:
    """``text`` cut before the first stop string, stripped: the answer as it is returned."""
    found = [text.find(stop) for stop in stops if stop in text]
    return text[: min(found)].strip() if found else text.strip()


def settled_text(text: str, stops: Sequence[str]) -> str:
    """The start of an unfinished answer that more tokens cannot change: ``text`` (holding no
    stop string) without a tail that may begin a stop string or an incomplete character,
    stripped."""
    held = max(
        (size for stop in stops for size in range(1, len(stop)) if text.endswith(stop[:size])),
        default=0,
    )
    return text[: len(text) - held].rstrip(_INCOMPLETE).strip()


class StopFlag(StoppingCriteria):
    """A stopping criterion that ends generation once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        """True for every sequence once the event is set (checked after each new token)."""
        done = self.event.is_set()
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class AnswerStreamer(TextIteratorStreamer):
    """Text pieces of one answer (batch size 1), in order, to iterate over in another thread.

    The pieces join into :func:`answer_text` of the decoded answer tokens (those before the
    first of ``end_ids``), the text that a whole generation returns.
    """

    def __init__(
        self,
        tokenizer: Any,
        end_ids: Sequence[int],
        stops: Sequence[str],
        timeout: float | None = None,
    ) -> None:
        super().__init__(tokenizer, skip_prompt=True, timeout=timeout, skip_special_tokens=True)
        self.end_ids = set(end_ids)
        self.stops = list(stops)
        self.tokens: list[int] = []
        self.sent = ""
        self.finished = False

    def put(self, value: torch.Tensor) -> None:
        """Take the next generated token (the first call brings the prompt, which is skipped)."""
        if self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        if self.finished:
            return
        for token in value.reshape(-1).tolist():
            if token in self.end_ids:
                self.finished = True
                break
            self.tokens.append(token)
        text = self._decoded()
        if any(stop in text for stop in self.stops):
            self.finished = True
            self._send(answer_text(text, self.stops))
        else:
            self._send(settled_text(text, self.stops))

    def end(self) -> None:
        """Send the rest of the answer, then the end of the stream."""
        self._send(answer_text(self._decoded(), self.stops))
        self.close()

    def close(self) -> None:
        """End the stream: the reader's iteration stops after the pieces already sent."""
        self.text_queue.put(self.stop_signal, timeout=self.timeout)

    def _decoded(self) -> str:
        return self.tokenizer.decode(self.tokens, skip_special_tokens=True)

    def _send(self, text: str) -> None:
        """Queue what ``text`` adds to the text sent so far (nothing when it does not extend
        it: a later, longer text may)."""
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.on_finalized_text(text[len(self.sent) :])
            self.sent = text
