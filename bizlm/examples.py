"""The examples of one split, as every layer passes them: texts, targets and extra columns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Examples:
    """Equal-length columns of one split: input texts, targets, source lines, task extras.

    ``targets`` holds a label (classify), a list of labels (multi-label), a number (score) or
    a list of BIO tags (tag). ``extras`` holds optional columns such as ``text_pair``,
    ``group``, ``words`` and ``offsets``; every column is subset together.
    """

    texts: list[str]
    targets: list[Any]
    line_numbers: list[int]
    extras: dict[str, list[Any]] = field(default_factory=dict)
    skipped: dict[str, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> Examples:
        """The examples at ``indices``, in that order (skipped rows stay with the source)."""
        return Examples(
            texts=[self.texts[i] for i in indices],
            targets=[self.targets[i] for i in indices],
            line_numbers=[self.line_numbers[i] for i in indices],
            extras={name: [values[i] for i in indices] for name, values in self.extras.items()},
        )

    def column(self, name: str) -> list[Any] | None:
        """An extra column, or None when the split has none."""
        return self.extras.get(name)
