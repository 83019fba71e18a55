"""Tests for bizlm.data.tags: scheme conversion to BIO, repairs, spans and their errors."""

from __future__ import annotations

import pytest

from bizlm.data.tags import bio_to_spans, parse_tag, spans_to_bio, to_bio
from bizlm.data.words import split_words
from bizlm.errors import DataError


def _bio(tags: list[str], mode: str = "strict") -> tuple[list[str], int]:
    return to_bio(tags, mode=mode, where="f.txt")  # type: ignore[arg-type]


def _error(tags: list[str], **kwargs) -> str:
    with pytest.raises(DataError) as info:
        to_bio(tags, mode="strict", where="f.txt", **kwargs)
    return str(info.value)


def test_bio_is_kept() -> None:
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
    assert _bio(tags) == (tags, 0)


def test_bioes_bilou_and_bmes_become_bio() -> None:
    assert _bio(["B-ORG", "I-ORG", "E-ORG", "S-PER", "O"]) == (
        ["B-ORG", "I-ORG", "I-ORG", "B-PER", "O"],
        0,
    )
    assert _bio(["U-LOC", "B-LOC", "L-LOC"]) == (["B-LOC", "B-LOC", "I-LOC"], 0)
    assert _bio(["B-PER", "M-PER", "E-PER", "S-PER", "S-PER"]) == (
        ["B-PER", "I-PER", "I-PER", "B-PER", "B-PER"],
        0,
    )


def test_lenient_repairs_and_counts_tags_that_follow_nothing() -> None:
    iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]
    assert _bio(iob1, "lenient") == (["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"], 3)
    # E-/M- after O, and a continuation of an entity that E- already closed
    assert _bio(["O", "E-PER", "M-LOC", "B-ORG", "E-ORG", "E-ORG"], "lenient") == (
        ["O", "B-PER", "B-LOC", "B-ORG", "I-ORG", "B-ORG"],
        3,
    )


def test_strict_refuses_a_tag_that_follows_nothing() -> None:
    message = _error(["O", "I-PER"])
    assert message.startswith("f.txt, word 2: tag 'I-PER' continues an entity of type PER")
    assert "never opened (after 'O')" in message
    assert "task.tag_repair: lenient" in message
    assert "at the start of the sentence" in _error(["M-LOC"])
    assert "(after 'B-PER')" in _error(["B-PER", "I-LOC"], lines=[7, 8])
    assert _error(["B-PER", "I-LOC"], lines=[7, 8]).startswith("f.txt line 8: tag 'I-LOC'")


@pytest.mark.parametrize("bad", ["PER", "X-PER", "B-", "b-PER", "", "B- PER", "I_PER"])
def test_unknown_prefix_is_refused(bad: str) -> None:
    message = _error(["O", bad], lines=[3, 4])
    assert message.startswith(f"f.txt line 4: tag {bad!r} is neither 'O' nor a known prefix")
    assert "BMES" in message
    with pytest.raises(DataError):
        _bio(["O", bad], "lenient")


def test_parse_tag() -> None:
    assert parse_tag("O", "x") is None
    assert parse_tag("B-geo-loc", "x") == ("B", "geo-loc")
    with pytest.raises(ValueError, match="mode"):
        to_bio(["O"], mode="loose", where="x")  # type: ignore[arg-type]


def test_bio_to_spans() -> None:
    tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-ORG", "B-PER"]
    assert bio_to_spans(tags) == [
        ("PER", 0, 1),
        ("LOC", 3, 4),
        ("LOC", 5, 5),
        ("ORG", 6, 6),
        ("PER", 7, 7),
    ]
    assert bio_to_spans([]) == []
    assert bio_to_spans(["O", "O"]) == []


def test_spans_to_bio_and_back() -> None:
    text = "Ada Lovelace met Babbage in London ."
    words = split_words(text)
    spans = [
        {"start": 28, "end": 34, "label": "LOC"},
        {"start": 0, "end": 12, "label": "PER"},
    ]
    tags = spans_to_bio(words, spans, "f.jsonl line 1")
    assert tags == ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O"]
    assert bio_to_spans(tags) == [("PER", 0, 1), ("LOC", 5, 5)]


def test_spans_that_overlap_are_refused() -> None:
    words = split_words("New York City")
    spans = [{"start": 0, "end": 8, "label": "LOC"}, {"start": 4, "end": 13, "label": "ORG"}]
    with pytest.raises(DataError) as info:
        spans_to_bio(words, spans, "f.jsonl line 3")
    assert str(info.value).startswith(
        "f.jsonl line 3: entity 'ORG' [4, 13) overlaps entity 'LOC' [0, 8)."
    )


def test_span_over_spaces_only_is_refused() -> None:
    words = split_words("a    b")
    with pytest.raises(DataError, match=r"f line 1: entity 'X' \[2, 4\) covers only spaces"):
        spans_to_bio(words, [{"start": 2, "end": 4, "label": "X"}], "f line 1")
