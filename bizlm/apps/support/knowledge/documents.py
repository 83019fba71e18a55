"""Reading one document into sections: Markdown, HTML, plain text and PDF.

A section is a heading path (``("Billing", "Refunds")``; empty for text before any heading or
in a plain text file) and the text under it, with the character offset where that text starts
in the document's text: the file's text for Markdown and plain text, the visible text for
HTML, the page's text for PDF (whose sections are its pages, with their page numbers).

A file that cannot be read raises :class:`UnreadableDocument` with the reason it is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bizlm.apps.support.knowledge.errors import UnreadableDocument
from bizlm.apps.support.knowledge.html_text import html_sections
from bizlm.apps.support.knowledge.pdf_text import pdf_sections
from bizlm.apps.support.knowledge.sections import Section, decode_text, nested, stripped_section

_ATX_HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def markdown_sections(data: bytes) -> list[Section]:
    """Sections under the ``#`` headings of a Markdown file (not inside fenced code)."""
    text = decode_text(data)
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body_start = offset = 0
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        marker = _FENCE.match(content)
        heading = _ATX_HEADING.fullmatch(content)
        if marker:
            fence = marker[1] if fence is None else (None if marker[1] == fence else fence)
        elif fence is None and heading and heading[2].strip():
            names = tuple(name for _, name in path)
            sections.append(stripped_section(names, text, body_start, offset))
            path = nested(path, len(heading[1]), heading[2].strip())
            body_start = offset + len(line)
        offset += len(line)
    sections.append(stripped_section(tuple(name for _, name in path), text, body_start, offset))
    return [section for section in sections if section.text]


def text_sections(data: bytes) -> list[Section]:
    """A plain text file: one section without a heading."""
    text = decode_text(data)
    section = stripped_section((), text, 0, len(text))
    return [section] if section.text else []


READERS: dict[str, Callable[[bytes], list[Section]]] = {
    ".md": markdown_sections,
    ".markdown": markdown_sections,
    ".txt": text_sections,
    ".html": html_sections,
    ".htm": html_sections,
    ".pdf": pdf_sections,
}


def read_document(path: Path, data: bytes) -> list[Section]:
    """The sections of a document whose bytes are ``data``, read by the type its suffix names.

    Raises :class:`UnreadableDocument` for an unsupported type, a file that fails to parse,
    or one without text.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableDocument("unsupported type")
    try:
        sections = reader(data)
    except UnreadableDocument:
        raise
    except Exception as exc:  # a damaged file may break a parser in any way: skip it, never crash
        raise UnreadableDocument(f"could not be parsed ({type(exc).__name__}: {exc})") from exc
    if not sections:
        raise UnreadableDocument("holds no text")
    return sections
