"""Passages: sections split by length, each with a stable id and where it comes from.

Length is counted in words, and in characters for Chinese (each Chinese character counts as
one word). Consecutive passages of one section share ``overlap`` words, so a sentence cut at a
boundary is whole in one of them. Passages with the same text (white space and Unicode forms
aside) are kept once, with the other places they appear in :attr:`Passage.also_at`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from bizlm.apps.support.knowledge.errors import KnowledgeBaseError
from bizlm.apps.support.knowledge.sections import Section

HEADING_SEPARATOR = " > "
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# a unit of length: one Chinese character, or a run of other characters between spaces
_UNIT = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_WORD_CHARACTER = re.compile(r"\w")


@dataclass(frozen=True)
class Location:
    """Where a passage's text is: the file relative to ``docs/``, the heading path, and the
    character offsets in the document's text (in the page's text when ``page`` is set)."""

    file: str
    heading: str
    start: int
    end: int
    page: int | None = None


@dataclass(frozen=True)
class Passage:
    """One searchable piece of a document."""

    id: str
    file: str
    heading: str
    text: str
    start: int
    end: int
    page: int | None = None
    also_at: tuple[Location, ...] = ()

    @property
    def location(self) -> Location:
        """Where this passage is."""
        return Location(self.file, self.heading, self.start, self.end, self.page)

    @property
    def search_text(self) -> str:
        """What the rankers read: the heading path, then the text."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping of every field."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Passage:
        """The passage of :meth:`to_json`."""
        also_at = tuple(Location(**location) for location in data.get("also_at", ()))
        return cls(**{**data, "also_at": also_at})


def check_split(max_words: int, overlap: int) -> None:
    """Refuse a passage length below 1 or an overlap outside [0, max_words)."""
    if max_words < 1:
        raise KnowledgeBaseError(
            f"The passage length is {max_words} words; it must be at least 1.",
            hint="Pass --max-words 80, for example.",
        )
    if not 0 <= overlap < max_words:
        raise KnowledgeBaseError(
            f"The overlap is {overlap} words; it must be at least 0 and below the passage "
            f"length ({max_words} words).",
            hint="Pass a smaller --overlap, e.g. a fifth of --max-words.",
        )


def passage_id(file: str, section: int, heading: str, index: int) -> str:
    """A stable id: a hash of the file, the section's number and heading, the passage's index."""
    key = json.dumps([file, section, heading, index], ensure_ascii=False)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def windows(text: str, max_words: int, overlap: int) -> Iterator[tuple[int, int]]:
    """(start, end) character offsets of consecutive stretches of at most ``max_words`` words
    of ``text``, each sharing ``overlap`` words with the one before."""
    units = [match.span() for match in _UNIT.finditer(text)]
    first = 0
    while first < len(units):
        last = min(first + max_words, len(units))
        yield units[first][0], units[last - 1][1]
        if last == len(units):
            return
        first = last - overlap


def split_document(
    file: str, sections: Sequence[Section], max_words: int, overlap: int
) -> list[Passage]:
    """The passages of one document's sections, in order; passages without a word are left
    out (a rule line, a row of dashes)."""
    check_split(max_words, overlap)
    passages = []
    for number, section in enumerate(sections):
        heading = HEADING_SEPARATOR.join(section.heading)
        spans = windows(section.text, max_words, overlap)
        for index, (start, end) in enumerate(spans):
            text = section.text[start:end]
            if _WORD_CHARACTER.search(text):
                passages.append(
                    Passage(
                        passage_id(file, number, heading, index),
                        file,
                        heading,
                        text,
                        section.start + start,
                        section.start + end,
                        section.page,
                    )
                )
    return passages


def normalised(text: str) -> str:
    """The text compared for duplicates: Unicode NFKC form, white space runs as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def deduplicate(passages: Sequence[Passage]) -> tuple[list[Passage], list[int]]:
    """Each text once, at its first place, with the other places in ``also_at``; and the
    position in ``passages`` of each kept passage."""
    first: dict[str, int] = {}
    kept: list[Passage] = []
    positions: list[int] = []
    for position, passage in enumerate(passages):
        key = normalised(passage.text)
        if key in first:
            original = kept[first[key]]
            kept[first[key]] = replace(original, also_at=(*original.also_at, passage.location))
        else:
            first[key] = len(kept)
            kept.append(passage)
            positions.append(position)
    return kept, positions
