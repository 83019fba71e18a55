"""A topic deny-list: messages on topics the desk must never answer go to a person.

A topic is a word or phrase from ``support.yaml`` (``deny_topics``). It matches a message
case-insensitively; a topic written in Latin script matches whole words only ("claim" does
not match "reclaim"), one in other scripts (Chinese) matches anywhere in the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DENIED_TOPIC = "denied_topic"


def _pattern(topic: str) -> re.Pattern[str]:
    needle = re.escape(" ".join(topic.casefold().split()))
    if topic.isascii():
        return re.compile(rf"(?<!\w){needle}(?!\w)")
    return re.compile(needle)


def denied_topic(message: str, topics: Sequence[str]) -> str | None:
    """The first topic of ``topics`` that ``message`` mentions, or None."""
    text = " ".join(message.casefold().split())
    return next((topic for topic in topics if _pattern(topic).search(text)), None)
