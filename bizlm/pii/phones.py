"""Phone numbers through libphonenumber: international forms, and national forms of a few regions.

``phonenumbers.PhoneNumberMatcher`` only accepts numbers that are valid for their region, so
order numbers, amounts and dates are left alone; Chinese characters count as a boundary for
it, so ``电话13912345678`` is found. A number glued to more digits or ASCII letters, or after
the word ISBN, is not a phone number. The matcher only reads the stretches of digits and phone
punctuation (with a few characters around them), which keeps masking a long text fast.
"""

from __future__ import annotations

import re

import phonenumbers

from bizlm.pii.patterns import after_isbn, whole_token

# national numbers (no +country code) are read as numbers of these regions
DEFAULT_REGIONS = ("CN", "US", "GB")
_MIN_DIGITS = 7
_CONTEXT = 8
# the only stretches the matcher is run on: digits with the punctuation phone numbers use
_DIGIT_RUN = re.compile(r"\+?\(?\d(?:[\d ()./-]*\d)?")


def find_phones(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[tuple[int, int]]:
    """Spans of the phone numbers in ``text``, in order, without overlaps (longest kept)."""
    candidates = set()
    for run in _DIGIT_RUN.finditer(text):
        if sum(c.isdigit() for c in run.group()) < _MIN_DIGITS:
            continue
        # a little context on each side: the matcher looks there for dates and times
        offset = max(0, run.start() - _CONTEXT)
        window = text[offset : run.end() + _CONTEXT]
        for region in regions:
            matches = phonenumbers.PhoneNumberMatcher(
                window, region, leniency=phonenumbers.Leniency.VALID
            )
            for match in matches:
                start, end = offset + match.start, offset + match.end
                if whole_token(text, start, end) and not after_isbn(text, start):
                    candidates.add((start, end))
    chosen: list[tuple[int, int]] = []
    for start, end in sorted(candidates, key=lambda span: (span[0] - span[1], span[0])):
        if all(end <= s or e <= start for s, e in chosen):
            chosen.append((start, end))
    return sorted(chosen)
