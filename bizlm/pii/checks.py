"""Checksums and format rules that tell real identifiers from numbers that only look like them."""

from __future__ import annotations

import datetime as dt
import ipaddress

# (first digits, lengths) per issuer: Visa, Mastercard (51-55 and 2221-2720), Amex, Discover,
# JCB, UnionPay, Diners Club, Maestro
_ISSUERS: tuple[tuple[tuple[tuple[int, int], ...], frozenset[int]], ...] = (
    (((4, 4),), frozenset({13, 16, 19})),
    (((51, 55), (2221, 2720)), frozenset({16})),
    (((34, 34), (37, 37)), frozenset({15})),
    (((6011, 6011), (644, 649), (65, 65)), frozenset(range(16, 20))),
    (((3528, 3589),), frozenset(range(16, 20))),
    (((62, 62),), frozenset(range(16, 20))),
    (((300, 305), (3095, 3095), (36, 36), (38, 39)), frozenset(range(14, 20))),
    (
        ((5018, 5018), (5020, 5020), (5038, 5038), (5893, 5893), (6304, 6304), (6759, 6759)),
        frozenset(range(12, 20)),
    ),
    (((6761, 6763),), frozenset(range(12, 20))),
)


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn check used by bank cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_issuer_known(digits: str) -> bool:
    """True when the number starts with an issuer's prefix (IIN) and has a length it issues."""
    for ranges, lengths in _ISSUERS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return True
    return False


def card_valid(number: str) -> bool:
    """True for a bank card number (spaces or dashes allowed): known issuer, length and Luhn."""
    digits = "".join(c for c in number if c.isdigit())
    return card_issuer_known(digits) and luhn_valid(digits)


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


def ip_valid(candidate: str) -> bool:
    """True for an IPv4 or IPv6 address (an IPv6 zone such as ``%eth0`` allowed)."""
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return False
    return sum(c.isalnum() for c in candidate) >= 2
