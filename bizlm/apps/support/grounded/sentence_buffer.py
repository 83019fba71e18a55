"""Sentences out of a reply that is still being written: each one handed out once it is
complete, so that it can be checked before the customer sees it.

A sentence is complete when the text after it has begun and cannot be a citation marker that
still belongs to it (``Open at nine. [1]`` keeps its marker; ``Open at nine. [`` waits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bizlm.apps.support.grounded.support import split_sentences

_MARKER_START = re.compile(r"\[[\d,\s]*")


class SentenceBuffer:
    """Collects written pieces; :meth:`feed` returns the sentences they completed and
    :meth:`finish` the rest, each as ``(separator, sentence)`` where the separator is the
    space that stood before the sentence in the written text ("" for the first one and
    between sentences written without a space, as in Chinese)."""

    def __init__(self) -> None:
        self.text = ""
        self._released = 0
        self._cursor = 0

    def sentences(self, pieces: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Every sentence of the written ``pieces``, each as soon as it is complete."""
        for piece in pieces:
            yield from self.feed(piece)
        yield from self.finish()

    def feed(self, piece: str) -> list[tuple[str, str]]:
        """Add ``piece``; the sentences that are now complete and were not handed out yet."""
        self.text += piece
        sentences = split_sentences(self.text)
        if sentences and _MARKER_START.fullmatch(sentences[-1]):
            sentences = sentences[:-1]  # a marker being written: the sentence before may own it
        return self._release(sentences[:-1])

    def finish(self) -> list[tuple[str, str]]:
        """The sentences not handed out yet, once nothing more will be written."""
        return self._release(split_sentences(self.text))

    def _release(self, sentences: list[str]) -> list[tuple[str, str]]:
        released = []
        for sentence in sentences[self._released :]:
            start = self.text.index(sentence, self._cursor)
            spaced = self._released > 0 and start > 0 and self.text[start - 1].isspace()
            released.append((" " if spaced else "", sentence))
            self._cursor = start + len(sentence)
            self._released += 1
        return released
