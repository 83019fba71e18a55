"""Entity tag schemes: read BIO, IOB1, BIOES, BILOU and BMES tags and turn them into BIO.

BIO (IOB2) is the one scheme used inside bizlm: ``B-X`` opens an entity of type X, ``I-X``
continues it and ``O`` is outside any entity. Other schemes map onto it prefix by prefix:
``S-``/``U-`` (a one-word entity) become ``B-``; ``M-``, ``E-`` and ``L-`` become ``I-``.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Literal

from bizlm.data.words import Word
from bizlm.errors import DataError

Mode = Literal["strict", "lenient"]
_TAG = re.compile(r"([BIMESLU])-(\S(?:.*\S)?)")
_OPENS = frozenset("BSU")  # prefixes that start an entity
_CLOSES = frozenset("ESLU")  # prefixes after which the entity cannot continue
_SCHEMES = "BIO (B-, I-), BIOES (B-, I-, E-, S-), BILOU (B-, I-, L-, U-) or BMES (B-, M-, E-, S-)"


def parse_tag(tag: str, where: str) -> tuple[str, str] | None:
    """Return ``(prefix, type)`` of a tag, or None for ``O``; anything else is a DataError."""
    return None if tag == "O" else _split_tag(tag, where)


def _split_tag(tag: str, where: str) -> tuple[str, str]:
    match = _TAG.fullmatch(tag) if isinstance(tag, str) else None
    if match is None:
        raise DataError(
            f"{where}: tag {tag!r} is neither 'O' nor a known prefix and an entity type.",
            hint=f"Write tags in {_SCHEMES}, e.g. 'B-PER', 'I-PER', 'O'.",
        )
    return match.group(1), match.group(2)


def to_bio(
    tags: list[str], *, mode: Mode, where: str, lines: list[int] | None = None
) -> tuple[list[str], int]:
    """Convert one sentence's tags to BIO; return the BIO tags and the number of repairs.

    A continuing tag (``I-``, ``M-``, ``E-``, ``L-``) that follows no open entity of its type
    (sentence start, ``O``, another type, or an entity already closed by ``E-``/``S-``) is
    turned into ``B-`` and counted in ``lenient`` mode, and refused in ``strict`` mode.
    ``where`` names the file (and line); ``lines``, when given, is the line of each tag.
    """
    bio: list[str] = []
    repairs = 0
    open_type: str | None = None
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', not {mode!r}")
    for position, tag in enumerate(tags):
        if tag == "O":
            bio.append("O")
            open_type = None
            continue
        place = f"{where} line {lines[position]}" if lines else f"{where}, word {position + 1}"
        prefix, kind = _split_tag(tag, place)
        if prefix in _OPENS or open_type == kind:
            bio.append(f"{'B' if prefix in _OPENS else 'I'}-{kind}")
        elif mode == "strict":
            raise _never_opened(place, tags, position, kind)
        else:
            bio.append(f"B-{kind}")
            repairs += 1
        open_type = None if prefix in _CLOSES else kind
    return bio, repairs


def _never_opened(place: str, tags: list[str], position: int, kind: str) -> DataError:
    before = "at the start of the sentence" if position == 0 else f"after {tags[position - 1]!r}"
    return DataError(
        f"{place}: tag {tags[position]!r} continues an entity of type {kind} that was never opened"
        f" ({before}).",
        hint=f"Write 'B-{kind}' there, or set task.tag_repair: lenient to read such tags as"
        f" 'B-{kind}'.",
    )


def bio_to_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """Return ``(type, first_word, last_word)`` (inclusive) for each entity in BIO ``tags``.

    An ``I-X`` that does not continue an X entity starts a new one, as ``B-X`` would.
    """
    spans: list[tuple[str, int, int]] = []
    for position, tag in enumerate(tags):
        if tag == "O" or len(tag) < 3 or tag[1] != "-":
            continue
        kind = tag[2:]
        last = spans[-1] if spans else None
        if tag[0] == "I" and last and last[0] == kind and last[2] == position - 1:
            spans[-1] = (kind, last[1], position)
        else:
            spans.append((kind, position, position))
    return spans


def spans_to_bio(words: list[Word], spans: list[dict[str, Any]], where: str) -> list[str]:
    """Tag ``words`` (from split_words) with BIO for character-offset ``spans``.

    Each span is ``{"start", "end", "label"}`` with ``end`` exclusive. A word that overlaps a
    span is inside it, so words should be split at span edges first (split_words' ``cuts``).
    Spans that overlap each other, or that cover no word, are a DataError naming ``where``.
    """
    tags = ["O"] * len(words)
    starts = [start for _, start, _ in words]
    ordered = sorted(spans, key=lambda span: (span["start"], span["end"]))
    for previous, span in zip([None, *ordered], ordered, strict=False):
        shown = f"{span['label']!r} [{span['start']}, {span['end']})"
        if previous is not None and span["start"] < previous["end"]:
            raise DataError(
                f"{where}: entity {shown} overlaps entity {previous['label']!r}"
                f" [{previous['start']}, {previous['end']}).",
                hint="Entities cannot nest or overlap; keep one of the two.",
            )
        inside = []
        for index in range(max(0, bisect.bisect_right(starts, span["start"]) - 1), len(words)):
            if words[index][1] >= span["end"]:
                break
            if words[index][2] > span["start"]:
                inside.append(index)
        if not inside:
            raise DataError(
                f"{where}: entity {shown} covers only spaces.",
                hint="Make the entity's start and end enclose its words.",
            )
        for index in inside:
            tags[index] = f"{'B' if index == inside[0] else 'I'}-{span['label']}"
    return tags
