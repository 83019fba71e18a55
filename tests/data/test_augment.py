"""Seeded EDA-style augmentation of training examples, Chinese- and English-aware."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bizlm.data.augment import augment_examples, augment_text, join_units
from bizlm.errors import RecipeError
from bizlm.tasks import Examples


def _examples() -> Examples:
    return Examples(
        texts=[
            "the flight was late and the crew was rude",
            "great seat and very friendly staff",
            "客服态度很好，航班准时到达",
        ],
        targets=["negative", "positive", "positive"],
        line_numbers=[2, 3, 4],
        extras={"text_pair": ["q1", "q2", "q3"]},
    )


def test_copies_follow_the_originals_and_keep_targets_lines_and_pairs() -> None:
    source = _examples()
    result = augment_examples(source, copies=2, rate=0.2, seed=7)
    assert len(result) == 9
    assert result.texts[:3] == source.texts
    assert result.targets == source.targets * 3
    assert result.line_numbers == source.line_numbers * 3
    assert result.column("text_pair") == ["q1", "q2", "q3"] * 3
    assert any(
        copy != original for copy, original in zip(result.texts[3:], source.texts * 2, strict=True)
    )


def test_augmentation_is_seeded_and_leaves_its_input_alone() -> None:
    source = _examples()
    before = (list(source.texts), list(source.targets))
    first = augment_examples(source, copies=3, rate=0.3, seed=1)
    again = augment_examples(source, copies=3, rate=0.3, seed=1)
    other = augment_examples(source, copies=3, rate=0.3, seed=2)
    assert first.texts == again.texts
    assert first.texts != other.texts
    assert (source.texts, source.targets) == before


def test_no_copies_returns_the_examples_unchanged() -> None:
    source = _examples()
    assert augment_examples(source, copies=0, rate=0.1, seed=0) is source


def test_chinese_is_edited_character_by_character_without_spaces() -> None:
    text = "客服态度很好航班准时到达"
    rng = random.Random(3)
    copies = [augment_text(text, 0.3, rng) for _ in range(20)]
    assert any(copy != text for copy in copies)
    for copy in copies:
        assert " " not in copy
        assert set(copy) <= set(text)
        assert abs(len(copy) - len(text)) <= 4  # at most round(0.3 * 12) = 4 edits


def test_english_is_edited_word_by_word() -> None:
    text = "the flight was late and the crew was rude"
    rng = random.Random(5)
    for _ in range(20):
        copy = augment_text(text, 0.2, rng)
        assert set(copy.split()) <= set(text.split())  # whole words only, never broken up


def test_mixed_text_spaces_latin_words_but_not_cjk_characters() -> None:
    assert join_units(["我", "爱", "Python", "and", "机", "器"]) == "我爱Python and机器"


def test_every_copy_edits_at_least_once_and_never_empties_a_text() -> None:
    rng = random.Random(0)
    outcomes = Counter(augment_text("hello", 0.1, rng) for _ in range(50))
    assert set(outcomes) <= {"hello", "hello hello"}  # swap/delete of one word change nothing
    assert outcomes["hello hello"] > 0
    assert augment_text("", 0.5, rng) == ""


def test_tag_examples_are_refused_with_the_switch_named() -> None:
    tagged = Examples(
        texts=["Ann flies"],
        targets=[["B-PER", "O"]],
        line_numbers=[1],
        extras={"words": [["Ann", "flies"]], "offsets": [[(0, 3), (4, 9)]]},
    )
    with pytest.raises(RecipeError, match=r"regularise\.augment does not apply to task 'tag'"):
        augment_examples(tagged, copies=1, rate=0.1, seed=0)
