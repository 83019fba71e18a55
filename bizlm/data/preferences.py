"""Read preference pairs: a prompt with a chosen and a rejected answer (for DPO).

A row is ``{"prompt", "chosen", "rejected"}`` with an optional ``system`` message. Every row is
checked before training: the three texts are present and non-empty, and the two answers differ
(a pair whose answers are equal teaches nothing). A bad row is an error naming file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bizlm.data.conversations import SYSTEM_COLUMN, Conversation, single_turn
from bizlm.data.readers import Table
from bizlm.errors import DataError

PREFERENCE_KEYS = ("prompt", "chosen", "rejected")


@dataclass
class PreferenceRows:
    """The chosen and rejected conversation of every row, and the rows' lines."""

    chosen: list[Conversation] = field(default_factory=list)
    rejected: list[Conversation] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)


def read_preferences(table: Table, system: str | None) -> PreferenceRows:
    """The preference pairs of ``table``; ``system`` is the system message of rows that bring
    none. A row missing a key, with an empty text, or whose answers are equal is an error."""
    pairs = PreferenceRows()
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        where = f"{table.source} line {line}"
        prompt, chosen, rejected = (_required(row, key, where) for key in PREFERENCE_KEYS)
        if chosen == rejected:
            raise DataError(
                f"{where}: 'chosen' and 'rejected' are the same answer.",
                hint="A preference pair needs a better and a worse answer; fix or remove the row.",
            )
        message = _text(row.get(SYSTEM_COLUMN)) or system
        pairs.chosen.append(single_turn(prompt, chosen, message))
        pairs.rejected.append(single_turn(prompt, rejected, message))
        pairs.line_numbers.append(line)
    if not pairs.line_numbers:
        raise DataError(
            f"{table.source} holds no preference pairs.",
            hint='Write one JSON object per line: {"prompt", "chosen", "rejected"}.',
        )
    return pairs


def _required(row: dict[str, Any], key: str, where: str) -> str:
    if key not in row:
        present = ", ".join(sorted(row)) or "none"
        raise DataError(
            f"{where}: the key '{key}' is missing (keys present: {present}).",
            hint='Each row of preference data is {"prompt", "chosen", "rejected"} '
            '(and optionally "system").',
        )
    text = _text(row[key])
    if text is None:
        raise DataError(
            f"{where}: '{key}' is empty.",
            hint="Write the text, or remove the row.",
        )
    return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
