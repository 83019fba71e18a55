"""Look at a table's columns: which holds the text, which a second text, which the label.

A column with a conventional name wins (``text``, ``review``, ``body`` … for the text;
``label``, ``category``, ``sentiment`` … for the label), first as the whole name, then as a
word of it (``ticket_body``, ``Queue Category``). Otherwise the text is the mostly non-numeric
string column with the longest texts, and the label the column with the fewest distinct values
for its rows.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from bizlm.data.readers import Table
from bizlm.errors import DataError

TEXT_NAMES = (
    "text", "sentence", "content", "review", "message", "body", "title", "comment",
    "description", "question", "query", "utterance", "tweet", "post", "document", "headline",
    "summary", "sentence1", "text_a", "text1", "premise",
)  # fmt: skip
LABEL_NAMES = (
    "label", "labels", "category", "categories", "class", "sentiment", "target", "intent",
    "tag", "tags", "topic", "emotion", "polarity", "score", "rating", "stars", "relevance",
    "similarity", "y",
)  # fmt: skip
PAIR_NAMES = {
    "sentence1": ("sentence2",),
    "text_a": ("text_b",),
    "text1": ("text2",),
    "premise": ("hypothesis",),
    "query": ("document", "passage"),
    "question": ("answer", "passage", "context"),
}
ID_NAMES = {"id", "idx", "index", "uuid", "key", "row", "row_id"}
#: share of a text column's cells that must be strings other than numbers
TEXT_SHARE = 0.5
#: share of a text column's strings that must be distinct (labels repeat, texts rarely do)
DISTINCT_SHARE = 0.2
#: a guessed label column has at most this many distinct values per row
LABEL_SHARE = 0.5
_LISTED_COLUMNS = 30


@dataclass
class Pick:
    """A chosen column (or value) and the reason for it, in a few words."""

    value: str
    reason: str


def present(table: Table, column: str) -> list[Any]:
    """The cells of ``column`` that hold something (not None, NaN or blank)."""
    return [
        value
        for row in table.rows
        if (value := row.get(column)) is not None
        and not (isinstance(value, float) and math.isnan(value))
        and not (isinstance(value, str) and not value.strip())
    ]


def label_text(value: Any) -> str:
    """A label cell as the string training sees (``1.0`` and ``1`` both become ``"1"``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def find_text_column(table: Table, given: str | None, label_given: str | None) -> Pick:
    """The text column: ``given`` (checked), a conventional name, or the longest string column.

    Raises DataError when no column holds mostly non-numeric, mostly distinct strings.
    """
    if given is not None:
        _require(table, given, "text")
        return Pick(given, "given with --text-column")
    candidates = [c for c in table.columns if c != label_given]
    named = _by_name(candidates, TEXT_NAMES)
    if named is not None:
        return Pick(named, "a usual name for a text column")
    cells = {c: present(table, c) for c in candidates}
    lengths = {c: _mean_length(v) for c, v in cells.items() if _looks_like_text(v)}
    if not lengths:
        raise DataError(
            f"{table.source} has no column of texts (mostly non-numeric, mostly distinct "
            f"strings); its columns are: {_columns(table)}.",
            hint="Pass --text-column NAME with the column that holds the texts.",
        )
    best = max(lengths, key=lengths.__getitem__)
    return Pick(best, f"the string column with the longest texts ({lengths[best]:.0f} characters)")


def find_pair_column(table: Table, text_column: str) -> Pick | None:
    """The second text of a pair, only for conventional pairs (sentence1 and sentence2, …)."""
    partners = PAIR_NAMES.get(_normal(text_column), ())
    for column in table.columns:
        if _normal(column) in partners and present(table, column):
            return Pick(column, f"the usual partner of '{text_column}' in a text pair")
    return None


def find_label_column(table: Table, given: str | None, used: set[str], task: str | None) -> Pick:
    """The label column: ``given`` (checked), a conventional name, else the column with the
    fewest distinct values for its rows, else a numeric column (a score; first for ``task``
    score). Ids and ``used`` (the text columns) are never guessed. Raises DataError when no
    column fits."""
    if given is not None:
        _require(table, given, "label")
        if given in used:
            raise DataError(
                f"--label-column '{given}' is also the text column.",
                hint="Give two different columns with --text-column and --label-column.",
            )
        return Pick(given, "given with --label-column")
    cells = {c: present(table, c) for c in table.columns if c not in used}
    cells = {c: values for c, values in cells.items() if values}
    named = _by_name(list(cells), LABEL_NAMES)
    if named is not None:
        return Pick(named, "a usual name for a label column")
    cells = {c: values for c, values in cells.items() if not _id_like(c, values)}
    numbers = [c for c, values in cells.items() if numeric(values)]
    if task == "score" and numbers:
        return Pick(numbers[0], "the first numeric column that is not an id")
    distinct = {c: len(distinct_labels(values)) for c, values in cells.items()}
    ratios = {c: distinct[c] / len(cells[c]) for c in cells if distinct[c] > 1}
    repeated = [c for c, ratio in ratios.items() if ratio <= LABEL_SHARE]
    if repeated:
        best = min(repeated, key=ratios.__getitem__)
        return Pick(best, f"few distinct values ({distinct[best]}) for its {len(cells[best])} rows")
    if numbers:
        return Pick(numbers[0], "the first numeric column that is not an id")
    constant = [c for c in cells if distinct[c] == 1]
    if constant:  # refused with a clear message once its single value is seen
        return Pick(constant[0], "the only column left besides the text")
    raise DataError(
        f"{table.source} has no label column: no column besides the text repeats its values "
        f"or holds numbers; its columns are: {_columns(table)}.",
        hint="Pass --label-column NAME with the column that holds the labels.",
    )


def _require(table: Table, column: str, role: str) -> None:
    """Raise DataError naming the columns, and the closest one, when ``column`` is absent."""
    if column in table.columns:
        return
    folded = {name.casefold(): name for name in table.columns}
    close = difflib.get_close_matches(column.casefold(), list(folded), n=1, cutoff=0.6)
    suggestion = f" Did you mean '{folded[close[0]]}'?" if close else ""
    raise DataError(
        f"{table.source} has no column '{column}'; its columns are: {_columns(table)}.{suggestion}",
        hint=f"Pass --{role}-column with one of them.",
    )


def _columns(table: Table) -> str:
    shown = ", ".join(table.columns[:_LISTED_COLUMNS])
    more = len(table.columns) - _LISTED_COLUMNS
    return shown + (f", … ({more} more)" if more > 0 else "")


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def _by_name(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The column named like the earliest of ``names``: the whole name first, then a word."""
    for whole in (True, False):
        for name in names:
            for column in columns:
                normal = _normal(column)
                if normal == name or (not whole and len(name) > 1 and name in normal.split("_")):
                    return column
    return None


def _id_like(column: str, cells: list[Any]) -> bool:
    """Named like an id, or whole numbers that are all different."""
    normal = _normal(column)
    if normal in ID_NAMES or normal.endswith("_id"):
        return True
    whole = numeric(cells) and all(float(c).is_integer() for c in cells)
    return whole and len(distinct_labels(cells)) == len(cells)


def _looks_like_text(cells: list[Any]) -> bool:
    strings = [c for c in cells if isinstance(c, str) and not numeric([c])]
    return (
        bool(cells)
        and len(strings) >= TEXT_SHARE * len(cells)
        and len(distinct_labels(strings)) > DISTINCT_SHARE * len(strings)
    )


def _mean_length(cells: list[Any]) -> float:
    return sum(len(str(c)) for c in cells) / len(cells)


def distinct_labels(values: list[Any]) -> set[str]:
    """The distinct values of label cells, as training sees them."""
    return {label_text(v) for v in values}


def numeric(values: list[Any]) -> bool:
    """True when every value is a finite number or a string of one (booleans are not)."""
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return False
        try:
            number = float(value)
        except ValueError:
            return False
        if not math.isfinite(number):
            return False
    return bool(values)
