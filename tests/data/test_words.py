"""Tests for bizlm.data.words: word splitting with character offsets, CJK one character a word."""

from __future__ import annotations

from bizlm.data.words import is_cjk, split_words


def _check_offsets(text: str) -> list[str]:
    words = split_words(text)
    for word, start, end in words:
        assert text[start:end] == word
    return [word for word, _, _ in words]


def test_english_words_and_symbols() -> None:
    text = "Hi, Dr. Smith: don't pay $3.50 (now)!"
    assert _check_offsets(text) == [
        "Hi", ",", "Dr", ".", "Smith", ":", "don", "'", "t", "pay", "$", "3", ".", "50",
        "(", "now", ")", "!",
    ]  # fmt: skip
    assert split_words("ab  c") == [("ab", 0, 2), ("c", 4, 5)]


def test_chinese_is_one_character_a_word_and_latin_runs_stay_whole() -> None:
    text = "我在北京用iPhone15，很好！"
    assert _check_offsets(text) == [
        "我", "在", "北", "京", "用", "iPhone15", "，", "很", "好", "！",
    ]  # fmt: skip
    assert split_words("北京")[1] == ("京", 1, 2)


def test_kana_hangul_and_ideographic_space() -> None:
    assert _check_offsets("東京タワー\u3000서울") == ["東", "京", "タ", "ワ", "ー", "서", "울"]


def test_accents_underscores_and_invisible_characters() -> None:
    text = "cafe\u0301 snake_case\u200bnext ２０２４"
    assert _check_offsets(text) == ["cafe\u0301", "snake_case", "next", "２", "０", "２", "４"]


def test_cuts_split_a_word_at_entity_edges() -> None:
    assert split_words("NewYorkers love it", cuts=[7, 15]) == [
        ("NewYork", 0, 7),
        ("ers", 7, 10),
        ("love", 11, 15),
        ("it", 16, 18),
    ]


def test_empty_and_blank_text_have_no_words() -> None:
    assert split_words("") == []
    assert split_words(" \t\n\u3000") == []


def test_is_cjk() -> None:
    assert is_cjk("北京") and is_cjk("，") and is_cjk("한")
    assert not is_cjk("") and not is_cjk("北a") and not is_cjk("\u3000")
