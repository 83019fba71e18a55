"""Companies and people named in an item: from an NER bundle when given, else from patterns.

Without a model, the patterns find cashtags (``$AAPL``), @-handles and runs of two to four
capitalised words (``Time Warner``, ``Bank of England``); they are cheap and precise enough
for entity rules, not a replacement for a trained tagger.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_CASHTAG = re.compile(r"\$([A-Za-z]{1,6})\b")
_HANDLE = re.compile(r"@([A-Za-z0-9_]{2,30})")
_WORD = r"[A-Z][a-zA-Z&'-]*[a-zA-Z]"
_NAME = re.compile(rf"\b({_WORD}(?:[ \t]+(?:of[ \t]+|&[ \t]+)?{_WORD}){{1,3}})\b")
_MAX_ENTITIES = 10


def pattern_entities(text: str) -> list[str]:
    """Cashtags (upper-cased), handles and multi-word capitalised names, first seen first."""
    found = [f"${tag.upper()}" for tag in _CASHTAG.findall(text)]
    found += [f"@{handle}" for handle in _HANDLE.findall(text)]
    found += [name.strip() for name in _NAME.findall(text)]
    return list(dict.fromkeys(found))[:_MAX_ENTITIES]


class EntityFinder:
    """Finds entities in texts with an optional NER predictor (spans), else with patterns."""

    def __init__(self, tagger: Any | None = None) -> None:
        self.tagger = tagger

    def find(self, texts: Sequence[str]) -> list[list[str]]:
        """The entities of each text."""
        if self.tagger is None:
            return [pattern_entities(text) for text in texts]
        predictions = self.tagger.predict(list(texts))
        return [
            list(dict.fromkeys(span["text"] for span in found["entities"]))[:_MAX_ENTITIES]
            for found in predictions
        ]
