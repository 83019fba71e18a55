"""Citations: the ``[n]`` markers of a reply (``[1]``, ``[1, 3]``) mapped to the passages the
prompt numbered, in the order they are first cited; markers that point at no passage are
dropped from the reply and reported."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bizlm.apps.support.knowledge.passages import Passage

MARKER = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")
EXCERPT_CHARS = 200
SOURCES_ROUTE = "/v1/support/sources"


@dataclass(frozen=True)
class Citation:
    """One cited passage: its number in the prompt and where to read it."""

    number: int
    passage: Passage

    @property
    def link(self) -> str:
        """Where the desk serves the passage: ``/v1/support/sources/<passage id>``."""
        return f"{SOURCES_ROUTE}/{self.passage.id}"

    @property
    def excerpt(self) -> str:
        """The passage's first words, at most :data:`EXCERPT_CHARS` characters."""
        text = " ".join(self.passage.text.split())
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "\u2026"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready source: number, file, heading, link, passage id and excerpt."""
        return {
            "number": self.number,
            "file": self.passage.file,
            "heading": self.passage.heading,
            "link": self.link,
            "passage_id": self.passage.id,
            "text": self.excerpt,
        }


@dataclass(frozen=True)
class ParsedCitations:
    """A reply's citations, the numbers that named no passage, and the reply without them."""

    citations: list[Citation]
    unknown: list[int]
    text: str


def marker_numbers(text: str) -> list[int]:
    """Every number of every ``[n]`` marker in ``text``, in order (repeats kept)."""
    return [int(n) for match in MARKER.finditer(text) for n in match.group(1).split(",")]


def parse_citations(reply: str, passages: Sequence[Passage]) -> ParsedCitations:
    """The passages ``reply`` cites (numbered from 1 as in the prompt), each once, in order of
    first citation; unknown numbers are reported and removed from the text."""
    citations: dict[int, Citation] = {}
    unknown: dict[int, None] = {}
    for number in marker_numbers(reply):
        if 1 <= number <= len(passages):
            citations.setdefault(number, Citation(number, passages[number - 1]))
        else:
            unknown.setdefault(number, None)

    def keep_known(match: re.Match[str]) -> str:
        known = [n for n in match.group(1).split(",") if int(n) in citations]
        return f"[{', '.join(n.strip() for n in known)}]" if known else ""

    text = reply.strip()
    if unknown:  # close the gaps the removed markers leave
        text = re.sub(r"[ \t]{2,}", " ", MARKER.sub(keep_known, text))
        text = re.sub(r"[ \t]+([.,;:!?。，；：！？])", r"\1", text).strip()
    return ParsedCitations(list(citations.values()), list(unknown), text)
