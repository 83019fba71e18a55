"""Split raw text into words with character offsets, the unit that entity tags are given on.

A word is a run of letters, digits, underscores and combining marks; every other visible
symbol is a word of its own, and so is every CJK character (Han, kana, hangul, CJK and
full-width punctuation), since Chinese and Japanese are tagged character by character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

Word = tuple[str, int, int]

# Inclusive code point ranges, sorted, that are tagged one character at a time.
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
    (0x2FF0, 0x2FFF),  # ideographic description characters
    (0x3001, 0x4DBF),  # CJK punctuation, kana, bopomofo, enclosed CJK, extension A (not U+3000)
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE6F),  # CJK compatibility forms, small form variants
    (0xFF01, 0xFFEF),  # half-width and full-width forms
    (0x1B000, 0x1B16F),  # kana supplement and extensions
    (0x20000, 0x323AF),  # CJK extensions B to H, compatibility supplement
)
_CJK_RUN = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _CJK_RANGES) + "]+")
_SPACE, _CJK, _WORD, _SYMBOL = range(4)
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")


def is_cjk(text: str) -> bool:
    """True when ``text`` is not empty and every character of it is tagged on its own (CJK)."""
    return _CJK_RUN.fullmatch(text) is not None


@lru_cache(maxsize=65_536)
def _kind(char: str) -> int:
    if char.isspace() or char in _INVISIBLE:
        return _SPACE
    if is_cjk(char):
        return _CJK
    if char.isalnum() or char == "_" or unicodedata.category(char)[0] in "LNM":
        return _WORD
    return _SYMBOL


def split_words(text: str, cuts: Iterable[int] = ()) -> list[Word]:
    """Split ``text`` into ``(word, start, end)`` triples; ``end`` is exclusive.

    ``cuts`` are character positions where a word must end even inside a run of letters, so
    that an entity boundary given by character offsets never falls inside a word.
    """
    forced = set(cuts)
    words: list[Word] = []
    start = -1
    for position, char in enumerate(text):
        kind = _kind(char)
        if start >= 0 and (kind != _WORD or position in forced):
            words.append((text[start:position], start, position))
            start = -1
        if kind == _WORD:
            if start < 0:
                start = position
        elif kind != _SPACE:
            words.append((char, position, position + 1))
    if start >= 0:
        words.append((text[start:], start, len(text)))
    return words
