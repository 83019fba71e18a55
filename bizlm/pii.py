"""Find and mask personal data in text: e-mail, phone, bank card, Chinese ID, IBAN, IP address.

Usable on its own::

    from bizlm.pii import mask
    mask("Call +44 20 7946 0958 or mail jo@example.com")
    # 'Call [PHONE] or mail [EMAIL]'

Numbers that only look like personal data are left alone: a card number must pass the Luhn
check, a Chinese resident ID its ISO 7064 MOD 11-2 checksum and birth date, an IBAN the mod-97
check, an IP address must parse. Detectors run in a fixed order and a span already claimed by
an earlier detector is not claimed again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass

KINDS = ("email", "cn_id", "iban", "card", "ip", "phone")
_TAGS = {
    "email": "[EMAIL]",
    "cn_id": "[CN_ID]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "ip": "[IP]",
    "phone": "[PHONE]",
}


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data found in a text."""

    kind: str
    start: int
    end: int
    value: str


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn check used by bank cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def cn_id_valid(number: str) -> bool:
    """True for an 18-character Chinese resident ID with a valid birth date and checksum."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= birth <= dt.date.today():
        return False
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    remainder = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True)) % 11
    return "10X98765432"[remainder] == number[17].upper()


def iban_valid(iban: str) -> bool:
    """True when an IBAN (spaces allowed) passes the ISO 13616 mod-97 check."""
    compact = iban.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ip_valid(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _digit_count_between(low: int, high: int) -> Callable[[str], bool]:
    return lambda value: low <= sum(c.isdigit() for c in value) <= high


def _always(_: str) -> bool:
    return True


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PATTERNS: dict[str, tuple[re.Pattern[str], Callable[[str], bool]]] = {
    "email": (
        re.compile(
            r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
        ),
        _always,
    ),
    "cn_id": (re.compile(r"(?<![\w])\d{17}[\dXx](?![\w])"), cn_id_valid),
    "iban": (
        re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])"),
        iban_valid,
    ),
    "card": (
        re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
        lambda value: luhn_valid(re.sub(r"\D", "", value)),
    ),
    "ip": (
        re.compile(
            rf"(?<![\w.:])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.\d)"
            r"|(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
            rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}|[0-9A-Fa-f]{{0,4}})(?:%\w+)?(?![\w:]|\.\d)"
        ),
        lambda value: _ip_valid(value) and sum(c.isalnum() for c in value) >= 2,
    ),
    "phone": (
        re.compile(
            # international: +CC then 2-5 groups
            r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])"
            # North American: (555) 123-4567, 555-123-4567, 555.123.4567
            r"|(?<![\w(])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
            # Chinese mobile: 13800138000
            r"|(?<![\w])1[3-9]\d{9}(?![\w])"
            # national with trunk prefix: 020 7946 0958, 010-12345678
            r"|(?<![\w])0\d{1,4}[ -]\d{3,4}[ -]?\d{3,4}(?![\w-])"
        ),
        _digit_count_between(7, 15),
    ),
}


def find_pii(text: str, kinds: Iterable[str] = KINDS) -> list[PiiMatch]:
    """Every piece of personal data in ``text``, in order, without overlaps."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown PII kinds {sorted(unknown)}; choose from {list(KINDS)}.")
    found: list[PiiMatch] = []
    for kind in KINDS:
        if kind not in wanted:
            continue
        pattern, is_valid = _PATTERNS[kind]
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < m.end and m.start < end for m in found):
                continue
            if is_valid(match.group()):
                found.append(PiiMatch(kind, start, end, match.group()))
    return sorted(found, key=lambda m: m.start)


def mask(text: str, kinds: Iterable[str] = KINDS) -> str:
    """``text`` with each piece of personal data replaced by a tag such as ``[EMAIL]``."""
    pieces = []
    cursor = 0
    for match in find_pii(text, kinds):
        pieces.append(text[cursor : match.start])
        pieces.append(_TAGS[match.kind])
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces)


class PiiLogFilter(logging.Filter):
    """A logging filter that masks personal data in each record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's text in place (its format and argument types are kept)."""
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _mask_value(v) for k, v in record.args.items()}
        return True


def _mask_value(value: object) -> object:
    if not isinstance(value, str):
        return value
    if "%" in value:  # URL paths and queries: look at the decoded text too
        decoded = urllib.parse.unquote(value)
        masked = mask(decoded)
        if masked != decoded:
            return masked
    return mask(value)
