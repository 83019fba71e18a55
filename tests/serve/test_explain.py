"""Explanations from Python: occlusion and integrated gradients on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bizlm.explain import explain, occlusion
from bizlm.predictor import load


@pytest.fixture(scope="module")
def predictor(tiny_bundles: list[Path]):
    return load(tiny_bundles[0])


def test_occlusion_is_the_probability_drop_per_word(predictor) -> None:
    text = "good great flight"
    result = explain(predictor, text, method="occlusion")
    index = predictor.labels.index(result["label"])
    full = predictor.predict_proba([text])[0, index]
    without_first = predictor.predict_proba(["great flight"])[0, index]
    assert [a["token"] for a in result["attributions"]] == text.split()
    assert result["attributions"][0]["attribution"] == pytest.approx(full - without_first, abs=1e-5)
    assert result["score"] == pytest.approx(full, abs=1e-6)


def test_words_past_max_length_get_zero_without_a_forward_pass(predictor) -> None:
    words = ["good"] * (predictor.max_length + 5)
    scores = occlusion(predictor, " ".join(words), 0, 0.5)
    assert len(scores) == len(words) and all(s == 0.0 for _, s in scores[-5:])


def test_integrated_gradients_gives_one_score_per_token(predictor) -> None:
    result = explain(predictor, "rude slow crew", method="integrated_gradients", steps=8)
    assert [a["token"] for a in result["attributions"]] == ["rude", "slow", "crew"]
    chosen = explain(predictor, "rude slow crew", label="positive", method="integrated_gradients")
    assert chosen["label"] == "positive"


def test_bad_method_or_label(predictor) -> None:
    with pytest.raises(ValueError, match="Unknown explanation method"):
        explain(predictor, "a", method="shap")
    with pytest.raises(ValueError, match="Unknown label"):
        explain(predictor, "a", label="angry")
