"""Checks of a text column that catch the wrong column, or the wrong model, before training.

A column that is mostly empty, numbers or links is rarely the text a user meant to learn
from; Chinese (or other non-Latin) texts on the English ``default`` model learn little. These
checks only warn: the data may be right after all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from bizlm.backbones import ALIASES

Script = Literal["zh", "latin", "other"]

#: share of a column's texts that must be empty, numeric or links before it is reported
PROBLEM_SHARE = 0.3
#: share of the letters that are Han characters from which texts count as Chinese
HAN_SHARE = 0.3
#: share of the letters that are Latin from which texts count as Latin-script
LATIN_SHARE = 0.5
#: share of the characters a tokenizer maps to its unknown token that makes it unfit
UNKNOWN_SHARE = 0.5
#: texts looked at by the script and tokenizer checks
SAMPLE_SIZE = 2000
_TOKENIZER_SAMPLE = 200

_NUMBER = re.compile(r"[-+$€£¥]?[.,]?\d[\d.,\s]*(?:[eE][-+]?\d+)?%?")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HAN_RANGES = (
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x323AF),  # extensions B to H
)
_LATIN_RANGES = (
    (0x0041, 0x024F),  # basic Latin to Latin Extended-B (only letters are counted)
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese)
    (0xFF21, 0xFF5A),  # full-width Latin
)


def text_column_problems(texts: Sequence[str]) -> list[str]:
    """Warnings for a text column whose texts are largely empty, plain numbers or only links.

    Each warning (one per kind, when at least :data:`PROBLEM_SHARE` of the texts are of that
    kind) gives the share and asks to check ``task.text_column``.
    """
    total = len(texts)
    if not total:
        return []
    stripped = [text.strip() for text in texts]
    kinds = {
        "empty": sum(not text for text in stripped),
        "numbers only": sum(
            bool(text) and _NUMBER.fullmatch(text) is not None for text in stripped
        ),
        "links (URLs) only": sum(bool(text) and _only_links(text) for text in stripped),
    }
    return [
        f"{count} of {total} texts ({count / total:.0%}) are {kind}; check that "
        "task.text_column names the column that holds the text to learn from."
        for kind, count in kinds.items()
        if count and count / total >= PROBLEM_SHARE
    ]


def script_shares(texts: Sequence[str]) -> dict[str, float]:
    """Shares of the letters of (the first :data:`SAMPLE_SIZE` of) ``texts`` that are Han
    characters (``han``), Latin letters (``latin``) and others; all 0 when there are no
    letters."""
    letters = han = latin = 0
    for text in texts[:SAMPLE_SIZE]:
        for char in text:
            if not char.isalpha():
                continue
            letters += 1
            code = ord(char)
            han += _within(code, _HAN_RANGES)
            latin += _within(code, _LATIN_RANGES)
    if not letters:
        return {"han": 0.0, "latin": 0.0, "other": 0.0}
    return {"han": han / letters, "latin": latin / letters, "other": 1 - (han + latin) / letters}


def detect_script(texts: Sequence[str]) -> Script:
    """The writing system of (a sample of) ``texts``: ``zh``, ``latin`` or ``other``.

    Only letters count. ``zh`` when at least :data:`HAN_SHARE` of them are Han characters
    (Chinese, or Japanese written with many kanji); ``latin`` when at least
    :data:`LATIN_SHARE` are Latin, or when the texts hold no letters at all; ``other``
    otherwise (Cyrillic, Arabic, Devanagari, Korean, …).
    """
    shares = script_shares(texts)
    if shares["han"] >= HAN_SHARE:
        return "zh"
    no_letters = not any(shares.values())
    return "latin" if shares["latin"] >= LATIN_SHARE or no_letters else "other"


def model_language_warning(model_reference: str, texts: Sequence[str]) -> str | None:
    """A warning when Chinese or other non-Latin texts meet a model that cannot read them.

    That is the English ``default`` alias, or a model folder whose tokenizer maps at least
    :data:`UNKNOWN_SHARE` of the sample's characters to its unknown token. Other references
    (``multilingual``, hub ids) are not checked. Returns None when nothing is wrong.
    """
    script = detect_script(texts)
    if script == "latin":
        return None
    what = "Chinese" if script == "zh" else "mostly in a non-Latin script"
    advice = (
        "set model: multilingual (multilingual-e5-small, about 100 languages including Chinese)."
    )
    if model_reference == "default":
        english = ALIASES["default"].description.split(" (")[0]
        return f"The texts are {what}, but model 'default' ({english}) reads English; {advice}"
    folder = Path(model_reference).expanduser()
    if model_reference in ALIASES or not folder.is_dir():
        return None
    share = unknown_share(folder, texts[:_TOKENIZER_SAMPLE])
    if share is None or share < UNKNOWN_SHARE:
        return None
    return (
        f"The texts are {what}, but the tokenizer of model '{model_reference}' maps "
        f"{share:.0%} of their characters to its unknown token; {advice}"
    )


def unknown_share(folder: Path, texts: Sequence[str]) -> float | None:
    """Share of the non-space characters of ``texts`` that the tokenizer in ``folder`` maps to
    its unknown token; None when the folder's tokenizer cannot be loaded, has no unknown token
    or gives no character offsets."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError):  # training names the problem when it loads the model
        return None
    if tokenizer.unk_token_id is None or not tokenizer.is_fast:
        return None
    encoded = tokenizer(
        list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False
    )
    total = sum(len("".join(text.split())) for text in texts)
    unknown = 0
    for text, ids, offsets in zip(
        texts, encoded["input_ids"], encoded["offset_mapping"], strict=True
    ):
        spans = {
            span
            for token, span in zip(ids, offsets, strict=True)
            if token == tokenizer.unk_token_id
        }
        unknown += sum(len("".join(text[start:end].split())) for start, end in spans)
    return unknown / total if total else None


def _only_links(text: str) -> bool:
    return all(_URL.fullmatch(word) for word in text.split())


def _within(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)
