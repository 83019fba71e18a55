"""Recall and precision on the seeded English and Chinese test set of bench/pii_cases.py."""

from __future__ import annotations

import pytest

from bench.pii_cases import LANGUAGES, generate, score
from bizlm.pii import KINDS


@pytest.fixture(scope="module")
def scores() -> dict:
    cases = generate(per_language=240, seed=0)
    assert {c.language for c in cases} == set(LANGUAGES)
    return score(cases)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_found_and_decoys_are_kept(scores: dict, language: str, kind: str) -> None:
    result = scores[language][kind]
    assert result["identifiers"] >= 50
    assert result["recall"] >= 0.99, result
    assert result["precision"] >= 0.97, result


def test_the_set_holds_identifiers_glued_to_chinese_and_decoys() -> None:
    texts = [c.text for c in generate(per_language=240, seed=0)]
    assert any(t.startswith("电话1") for t in texts)
    assert any("ISBN" in t for t in texts) and any("版本" in t for t in texts)
    assert len(texts) == 480
