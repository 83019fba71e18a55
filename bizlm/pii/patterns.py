"""Regular expressions for the structured kinds, with boundaries that work inside Chinese text.

An identifier's edges are defined on ASCII digits and letters only (Python's ``\\w`` also
matches Chinese characters, so ``电话13912345678`` would have no word boundary). A candidate
that continues into more digits through ``-`` or ``.`` is part of a longer identifier and is
left whole rather than partly masked. An IP address may follow letters (``IP192.168.1.20``)
unless they name a version (``v2.4.1.10``, ``version 2.4.1.10``, ``版本 2.4.1.10``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bizlm.pii.checks import card_valid, cn_id_valid, iban_valid, ip_valid

START = r"(?<![0-9A-Za-z])(?<![0-9][-.])"
END = r"(?![0-9A-Za-z])(?![-.][0-9])"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_ISBN_BEFORE = re.compile(r"ISBN(?:-?1[03])?\s*[:：]?\s*$", re.IGNORECASE)
_VERSION_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:version|ver|v)\.?|版本号?)\s*[:：]?\s*$", re.IGNORECASE
)
_LOOK_BACK = 24

Check = Callable[[str, int, int], bool]


def after_isbn(text: str, start: int) -> bool:
    """True when the number at ``start`` follows the word ISBN (a book number, not a card)."""
    return bool(_ISBN_BEFORE.search(text[max(0, start - _LOOK_BACK) : start]))


def after_version(text: str, start: int) -> bool:
    """True when the text before ``start`` names a version (``version``, ``ver``, ``v``, 版本)."""
    return bool(_VERSION_BEFORE.search(text[max(0, start - _LOOK_BACK) : start]))


def _value(check: Callable[[str], bool]) -> Check:
    return lambda text, start, end: check(text[start:end])


def _card(text: str, start: int, end: int) -> bool:
    return card_valid(text[start:end]) and not after_isbn(text, start)


def _ip(text: str, start: int, end: int) -> bool:
    return ip_valid(text[start:end]) and not after_version(text, start)


PATTERNS: dict[str, tuple[re.Pattern[str], Check]] = {
    "email": (
        re.compile(
            r"(?<![0-9A-Za-z._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
            r"\.[A-Za-z]{2,}(?![0-9A-Za-z-])"
        ),
        _value(lambda _: True),
    ),
    "cn_id": (re.compile(START + r"\d{17}[\dXx]" + END), _value(cn_id_valid)),
    "iban": (
        re.compile(START + r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?" + END),
        _value(iban_valid),
    ),
    "card": (re.compile(r"(?<![+])" + START + r"\d(?:[ -]?\d){11,18}" + END), _card),
    "ip": (
        re.compile(
            rf"(?<![0-9.:])(?:{_OCTET}\.){{3}}{_OCTET}(?![0-9A-Za-z]|\.\d)"
            r"|(?<![0-9A-Fa-f:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
            rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}|[0-9A-Fa-f]{{0,4}})(?:%[0-9A-Za-z_]+)?"
            r"(?![0-9A-Za-z:]|\.\d)"
        ),
        _ip,
    ),
}


_EDGES = re.compile(START), re.compile(END)


def whole_token(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is not glued to more digits or ASCII letters."""
    before, after = _EDGES
    return bool(before.match(text, start)) and bool(after.match(text, end))
