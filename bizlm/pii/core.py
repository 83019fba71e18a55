"""Find personal data in a text and replace each piece by a tag such as ``[PHONE]``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bizlm.pii.patterns import PATTERNS
from bizlm.pii.phones import find_phones

KINDS = ("email", "cn_id", "iban", "card", "ip", "phone")
NAME_KINDS = ("name", "address")
TAGS = {kind: f"[{kind.upper()}]" for kind in (*KINDS, *NAME_KINDS)}


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data found in a text."""

    kind: str
    start: int
    end: int
    value: str


class EntityFinder(Protocol):
    """Finds names and addresses in a text (see :class:`bizlm.pii.names.NameMasker`)."""

    def find(self, text: str) -> list[PiiMatch]:
        """The names and addresses in ``text``."""
        ...


_default_names: EntityFinder | None = None


def use_name_masker(finder: EntityFinder | None) -> None:
    """Make :func:`mask` also mask names and addresses with ``finder`` (None: stop doing so)."""
    global _default_names
    _default_names = finder


def find_pii(text: str, kinds: Iterable[str] = KINDS) -> list[PiiMatch]:
    """Every structured piece of personal data in ``text``, in order, without overlaps.

    Detectors run in the order of :data:`KINDS`; a span claimed by one is not claimed again.
    """
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown PII kinds {sorted(unknown)}; choose from {list(KINDS)}.")
    found: list[PiiMatch] = []

    def claim(kind: str, start: int, end: int) -> None:
        if _free(start, end, found):
            found.append(PiiMatch(kind, start, end, text[start:end]))

    for kind in KINDS:
        if kind not in wanted:
            continue
        if kind == "phone":
            for start, end in find_phones(text):
                claim(kind, start, end)
            continue
        pattern, is_valid = PATTERNS[kind]
        for match in pattern.finditer(text):
            if is_valid(text, *match.span()):
                claim(kind, *match.span())
    return sorted(found, key=lambda m: m.start)


def mask(text: str, kinds: Iterable[str] = KINDS, names: EntityFinder | None = None) -> str:
    """``text`` with each piece of personal data replaced by a tag such as ``[EMAIL]``.

    Names and addresses are masked too (as ``[NAME]`` and ``[ADDRESS]``) with ``names``, or
    with the finder set by :func:`use_name_masker` when ``names`` is not given.
    """
    found = find_pii(text, kinds)
    finder = names if names is not None else _default_names
    if finder is not None:
        for entity in finder.find(text):
            if _free(entity.start, entity.end, found):
                found.append(entity)
    return replace(text, found)


def _free(start: int, end: int, found: list[PiiMatch]) -> bool:
    """True when ``[start, end)`` overlaps none of the spans ``found`` so far."""
    return all(end <= m.start or m.end <= start for m in found)


def mask_structured(text: str) -> str:
    """``text`` with the structured kinds masked, never names (cheap enough for every log line)."""
    return replace(text, find_pii(text))


def replace(text: str, found: list[PiiMatch]) -> str:
    """``text`` with each (non-overlapping) match replaced by its kind's tag."""
    pieces = []
    cursor = 0
    for match in sorted(found, key=lambda m: m.start):
        pieces.append(text[cursor : match.start])
        pieces.append(TAGS[match.kind])
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces)
