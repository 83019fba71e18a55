"""Seeded text augmentation for small training sets: random word swap, deletion and insertion.

Texts are cut into words with :func:`bizlm.data.words.split_words`, so Chinese and Japanese are
edited one character at a time and Latin-script text one word at a time. Each augmented copy
keeps its source's target, line number and extra columns (a ``text_pair`` is left as it is).
Only ever applied to the training split; validation and test stay as the user gave them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from bizlm.data.words import is_cjk, split_words
from bizlm.errors import RecipeError

if TYPE_CHECKING:
    from bizlm.examples import Examples

Edit = Callable[[list[str], random.Random], None]


def _swap(units: list[str], rng: random.Random) -> None:
    if len(units) > 1:
        first, second = rng.sample(range(len(units)), 2)
        units[first], units[second] = units[second], units[first]


def _delete(units: list[str], rng: random.Random) -> None:
    if len(units) > 1:
        del units[rng.randrange(len(units))]


def _insert(units: list[str], rng: random.Random) -> None:
    units.insert(rng.randrange(len(units) + 1), rng.choice(units))


EDITS: tuple[Edit, ...] = (_swap, _delete, _insert)


def join_units(units: list[str]) -> str:
    """Join words with a space, except next to a CJK character (those are written unspaced)."""
    parts: list[str] = []
    for unit in units:
        if parts and not (is_cjk(parts[-1][-1]) or is_cjk(unit[0])):
            parts.append(" ")
        parts.append(unit)
    return "".join(parts)


def augment_text(text: str, rate: float, rng: random.Random) -> str:
    """One edited copy of ``text``: ``max(1, round(rate * words))`` random swaps, deletions
    or insertions (a copy of one of its own words), never deleting the last word."""
    units = [word for word, _, _ in split_words(text)]
    if not units:
        return text
    for _ in range(max(1, round(rate * len(units)))):
        rng.choice(EDITS)(units, rng)
    return join_units(units)


def augment_examples(examples: Examples, copies: int, rate: float, seed: int) -> Examples:
    """The training ``examples`` followed by ``copies`` edited copies of each (seeded).

    The input is left unchanged; with ``copies`` 0 it is returned as it is. Tag examples (words
    with character offsets) cannot be edited without breaking their tags and are refused.
    """
    if copies == 0:
        return examples
    if examples.column("offsets") is not None:
        raise RecipeError(
            "regularise.augment does not apply to task 'tag': editing words would misalign "
            "their entity tags.",
            hint="Remove regularise.augment from the recipe (it applies to classify and score).",
        )
    rng = random.Random(seed)
    count = len(examples)
    result = examples.subset(list(range(count)) * (copies + 1))
    for position in range(count, len(result)):
        result.texts[position] = augment_text(result.texts[position], rate, rng)
    return result
