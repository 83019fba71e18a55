"""Inference batches cut by length on the CPU give the same outputs as whole batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bizlm.inference import CPU_CALL_OVERHEAD_TOKENS
from bizlm.predictor import Predictor


@pytest.fixture()
def predictor(tiny_model_dir: Path) -> Predictor:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return Predictor(model, tokenizer, ["negative", "neutral", "positive"], max_length=60)


def test_cut_batches_match_whole_batches(
    predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["good " * 50, "bad", "the seat was slow", "love " * 45, "nice crew", "sad"]
    assert predictor.call_overhead() == CPU_CALL_OVERHEAD_TOKENS
    cut_sizes: list[int] = []
    cut = predictor.predict_proba(texts, batch_size=32, on_batch=cut_sizes.append)

    monkeypatch.setattr(Predictor, "call_overhead", lambda self: None)
    whole_sizes: list[int] = []
    whole = predictor.predict_proba(texts, batch_size=32, on_batch=whole_sizes.append)

    assert whole_sizes == [6]
    assert cut_sizes == [2, 4]  # the two long texts apart from the four short ones
    np.testing.assert_allclose(cut, whole, atol=1e-5)
