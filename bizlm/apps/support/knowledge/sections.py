"""A section of a document: a heading path and the text under it, with where it starts."""

from __future__ import annotations

from dataclasses import dataclass

from bizlm.apps.support.knowledge.errors import UnreadableDocument


@dataclass(frozen=True)
class Section:
    """The text under one heading path, and where it starts."""

    heading: tuple[str, ...]
    text: str
    start: int
    page: int | None = None


def decode_text(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped), or the reason the file is skipped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(
            f"not UTF-8 text (byte {exc.start} is invalid); save the file as UTF-8"
        ) from exc


def stripped_section(
    heading: tuple[str, ...], text: str, start: int, end: int, page: int | None = None
) -> Section:
    """The section of ``text[start:end]`` without surrounding blank space."""
    body = text[start:end]
    lead = len(body) - len(body.lstrip())
    return Section(heading, body.strip(), start + lead, page)


def nested(path: list[tuple[int, str]], level: int, title: str) -> list[tuple[int, str]]:
    """The heading path after a heading of ``level``: deeper or equal headings are closed."""
    return [*(entry for entry in path if entry[0] < level), (level, title)]
