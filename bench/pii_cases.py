"""A seeded test set for PII masking, in English and Chinese, and its recall and precision.

Every structured kind appears glued to Chinese characters, after ``：`` or ``: ``, and inside
sentences, in the forms people write (spaced, dashed, with a country code). Decoys that must
stay unmasked sit among them: ISBNs, Luhn-valid order numbers, version strings, dates,
amounts, long digit runs, timestamps.

Scoring is span-level: a true identifier counts as found only when one mask of its kind covers
it fully; a mask counts as right when it overlaps a true identifier of its kind.

Run: python -m bench.pii_cases   (prints the table, writes bench/results/pii.json)
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers

from bizlm.pii import KINDS, find_pii
from bizlm.pii.checks import luhn_valid

RESULTS = Path(__file__).resolve().parent / "results" / "pii.json"
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Case:
    """One text and its true identifiers as (kind, start, end)."""

    language: str
    text: str
    spans: tuple[tuple[str, int, int], ...]


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return next(body + d for d in string.digits if luhn_valid(body + d))


def _group(number: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, cursor = [], 0
    for size in sizes:
        parts.append(number[cursor : cursor + size])
        cursor += size
    return separator.join(p for p in [*parts, number[cursor:]] if p)


def email(rng: random.Random) -> str:
    """A plausible e-mail address."""
    user = rng.choice(["li.wei", "zhang_san", "jo.smith+news", "wang2024", "a"])
    return f"{user}@{rng.choice(['example.com', 'qq.com', 'mail.example.co.uk', '163.com'])}"


def cn_id(rng: random.Random) -> str:
    """A Chinese resident ID with a valid birth date and check character."""
    area = rng.choice(["110105", "310101", "440301", "510104", "330106"])
    body = f"{area}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += _digits(rng, 3)
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def iban(rng: random.Random) -> str:
    """A German or British IBAN with valid check digits, compact or in groups of four."""
    country, bban = rng.choice(
        [("DE", _digits(rng, 18)), ("GB", "WEST" + _digits(rng, 14)), ("FR", _digits(rng, 23))]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    compact = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    return _group(compact, (4,) * 8, " ") if rng.random() < 0.4 else compact


def card(rng: random.Random) -> str:
    """A Luhn-valid number of a real issuer, compact, spaced or dashed."""
    prefix, length = rng.choice(
        [
            ("4", 16),
            ("51", 16),
            ("2221", 16),
            ("37", 15),
            ("6011", 16),
            ("3530", 16),
            ("62", 19),
            ("62", 16),
            ("36", 14),
            ("6759", 16),
        ]
    )
    number = _luhn_complete(rng, prefix + _digits(rng, 2), length)
    sizes = (4, 6, 5) if length == 15 else (4, 4, 4, 4)
    return rng.choice([number, _group(number, sizes, " "), _group(number, sizes, "-")])


def ip(rng: random.Random) -> str:
    """An IPv4 address, sometimes an IPv6 one."""
    if rng.random() < 0.2:
        return f"2001:db8::{rng.randint(1, 0xFFFF):x}:{rng.randint(1, 0xFFFF):x}"
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def phone(rng: random.Random) -> str:
    """A valid Chinese, US or UK phone number in a form people write."""
    while True:
        mobile = rng.choice(["138", "139", "150", "186", "177", "199"]) + _digits(rng, 8)
        region, number = rng.choice(
            [
                ("CN", mobile),
                ("CN", _group(mobile, (3, 4), " ")),
                ("CN", _group(mobile, (3, 4), "-")),
                ("CN", "+86 " + _group(mobile, (3, 4), " ")),
                ("CN", "+86" + mobile),
                ("CN", rng.choice(["010-", "021-", "0755-"]) + "6" + _digits(rng, 7)),
                (
                    "US",
                    f"+1 {rng.choice(['212', '415', '646'])} {rng.randint(200, 999)} "
                    f"{_digits(rng, 4)}",
                ),
                ("US", f"({rng.choice(['212', '415'])}) {rng.randint(200, 999)}-{_digits(rng, 4)}"),
                ("GB", f"+44 20 7{_digits(rng, 3)} {_digits(rng, 4)}"),
            ]
        )
        if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
            return number


def decoy(rng: random.Random, language: str) -> str:
    """Text with numbers that only look like personal data."""
    isbn = "978" + rng.choice(["7", "3", "0"]) + _digits(rng, 8)
    isbn += str(-sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(isbn)) % 10)
    order = _luhn_complete(rng, rng.choice(["2024", "8", "9", "1", "7"]), rng.choice([16, 18, 20]))
    version = ".".join(str(rng.randint(0, 12)) for _ in range(4))
    zh = language == "zh"
    options = [
        f"ISBN {isbn[:3]}-{isbn[3]}-{isbn[4:7]}-{isbn[7:12]}-{isbn[12]}",
        f"ISBN{isbn}",
        ("订单号" if zh else "order ") + order,
        rng.choice(["version ", "v", "版本 ", "版本号：", "ver "]) + version,
        f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:30:45",
        ("金额 " if zh else "total $") + f"{rng.randint(1000, 99999999):,}.{_digits(rng, 2)}",
        ("流水号" if zh else "ref ") + _digits(rng, rng.randint(24, 32)),
        str(rng.randint(1_600_000_000, 1_800_000_000)) + rng.choice(["", _digits(rng, 3)]),
        f"2024年{rng.randint(1, 12)}月{rng.randint(1, 28)}日" if zh else "on 2024/03/15",
        f"{rng.randint(2, 99)} items at {rng.randint(1, 999)}.{_digits(rng, 2)}",
    ]
    return rng.choice(options)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "cn_id": cn_id,
    "iban": iban,
    "card": card,
    "ip": ip,
    "phone": phone,
}
LEADS = {
    "en": {
        "email": "email",
        "cn_id": "ID number",
        "iban": "IBAN",
        "card": "card",
        "ip": "login from",
        "phone": "call",
    },
    "zh": {
        "email": "邮箱",
        "cn_id": "身份证号",
        "iban": "账户",
        "card": "卡号",
        "ip": "登录IP",
        "phone": "电话",
    },
}
SHAPES = {
    "en": ["{lead} {x}", "{lead}: {x}", "Please use {x} from now on.", "{lead} {x}, thanks"],
    "zh": ["{lead}{x}", "{lead}：{x}", "请使用{x}谢谢", "{lead}是 {x}，请查收。", "{x}"],
}


def generate(per_language: int = 240, seed: int = 0) -> list[Case]:
    """``per_language`` texts per language, each with one to three identifiers and a decoy."""
    rng = random.Random(seed)
    cases = []
    for language in LANGUAGES:
        for index in range(per_language):
            text, spans = "", []
            kinds = [KINDS[index % len(KINDS)], *rng.sample(KINDS, rng.randint(0, 2))]
            for number, kind in enumerate(kinds):
                shape = rng.choice(SHAPES[language])
                value = GENERATORS[kind](rng)
                before, after = shape.split("{x}")
                before = before.format(lead=LEADS[language][kind])
                after = after.format(lead=LEADS[language][kind])
                if number:
                    text += "，" if language == "zh" else "; "
                spans.append((kind, len(text) + len(before), len(text) + len(before) + len(value)))
                text += before + value + after
            joiner = "，另" if language == "zh" else " and "
            text += joiner + decoy(rng, language)
            cases.append(Case(language, text, tuple(spans)))
    return cases


def score(cases: list[Case], find: Callable[[str], list[Any]] = find_pii) -> dict[str, Any]:
    """Recall and precision per language and kind, span-level (see the module docstring)."""
    counts = {(lang, k): [0, 0, 0, 0] for lang in LANGUAGES for k in KINDS}  # hit, gold, ok, masks
    for case in cases:
        found = find(case.text)
        for kind, start, end in case.spans:
            tally = counts[case.language, kind]
            tally[1] += 1
            tally[0] += any(m.kind == kind and m.start <= start and end <= m.end for m in found)
        for m in found:
            tally = counts[case.language, m.kind]
            tally[3] += 1
            tally[2] += any(k == m.kind and s < m.end and m.start < e for k, s, e in case.spans)
    return {
        lang: {
            kind: {
                "recall": round(hit / gold, 4) if gold else 1.0,
                "precision": round(ok / masks, 4) if masks else 1.0,
                "identifiers": gold,
                "masks": masks,
            }
            for (language, kind), (hit, gold, ok, masks) in counts.items()
            if language == lang
        }
        for lang in LANGUAGES
    }


def main() -> None:
    """Print the table and write bench/results/pii.json."""
    from bench.machine import describe_machine
    from bizlm.atomic import atomic_write_text

    cases = generate()
    per_kind = score(cases)
    rows = [per_kind[lang][kind] for lang in LANGUAGES for kind in KINDS]
    result = {
        "pii_recall": min(r["recall"] for r in rows),
        "pii_precision": min(r["precision"] for r in rows),
        "per_kind": per_kind,
        "texts": {lang: sum(c.language == lang for c in cases) for lang in LANGUAGES},
        "machine": describe_machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"{'lang':<5}{'kind':<8}{'recall':>8}{'precision':>11}{'ids':>6}{'masks':>7}")
    for lang in LANGUAGES:
        for kind in KINDS:
            r = per_kind[lang][kind]
            print(
                f"{lang:<5}{kind:<8}{r['recall']:8.3f}{r['precision']:11.3f}"
                f"{r['identifiers']:6d}{r['masks']:7d}"
            )
    print(f"minimum recall {result['pii_recall']:.3f}, precision {result['pii_precision']:.3f}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
