"""The text of a ``generate`` answer while it is written, in pieces that join into the answer.

After each token the answer's tokens are decoded as a whole (as at the end). The text sent so
far holds back what more tokens may still change: leading and trailing whitespace (the answer
is stripped), an incomplete character, and a tail that may be the start of a stop string (the
answer is cut before the first one).
"""

from __future__ import annotations

from collections.abc import Sequence

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
