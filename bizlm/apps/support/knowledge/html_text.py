"""The visible text of an HTML page, in sections under its ``h1``–``h6`` headings.

Scripts, styles and the ``<head>`` are left out; block elements start a new line; runs of
white space inside a line become one space. Each heading's text is a line of the visible text
and opens a section; the section's text runs to the next heading.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bizlm.apps.support.knowledge.sections import Section, decode_text, nested, stripped_section

_HIDDEN = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
}  # fmt: skip
_SPACE = re.compile(r"\s+")


class _VisibleText(HTMLParser):
    """Collects the visible text and where each heading's section starts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.length = 0
        self.hidden: list[str] = []  # open hidden elements
        self.heading_level = 0  # of the heading being read, 0 outside headings
        self.heading_text: list[str] = []
        self.path: list[tuple[int, str]] = []
        # (heading path, where its heading line starts, where its text starts)
        self.marks: list[tuple[tuple[str, ...], int, int]] = [((), 0, 0)]

    def _write(self, text: str) -> None:
        self.text.append(text)
        self.length += len(text)

    def _end_line(self) -> None:
        if self.text and not self.text[-1].endswith("\n"):
            self._write("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # a <head> left open ends here
            self.hidden.clear()
        elif tag in _HIDDEN:
            self.hidden.append(tag)
        elif not self.hidden and tag in _HEADINGS:
            self._end_line()
            self.heading_level, self.heading_text = _HEADINGS[tag], []
        elif not self.hidden and tag in _BLOCKS:
            self._end_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.hidden and tag in _BLOCKS:
            self._end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN and tag in self.hidden:
            del self.hidden[self.hidden.index(tag) :]
        elif self.hidden:
            return
        elif tag in _HEADINGS and self.heading_level:
            self._close_heading()
        elif tag in _BLOCKS:
            self._end_line()

    def _close_heading(self) -> None:
        title = _SPACE.sub(" ", "".join(self.heading_text)).strip()
        level, self.heading_level = self.heading_level, 0
        if not title:
            return
        heading_start = self.length
        self._write(title + "\n")
        self.path = nested(self.path, level, title)
        self.marks.append((tuple(name for _, name in self.path), heading_start, self.length))

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.heading_level:
            self.heading_text.append(data)
            return
        text = _SPACE.sub(" ", data)
        if not self.text or self.text[-1].endswith("\n"):
            text = text.lstrip()
        if text:
            self._write(text)

    def sections(self) -> list[Section]:
        """The sections read so far, without empty ones."""
        text = "".join(self.text)
        ends = [heading_start for _, heading_start, _ in self.marks[1:]] + [len(text)]
        found = [
            stripped_section(path, text, start, end)
            for (path, _, start), end in zip(self.marks, ends, strict=True)
        ]
        return [section for section in found if section.text]


def html_sections(data: bytes) -> list[Section]:
    """The sections of an HTML page's visible text, one per heading (h1–h6)."""
    parser = _VisibleText()
    parser.feed(decode_text(data))
    parser.close()
    return parser.sections()
