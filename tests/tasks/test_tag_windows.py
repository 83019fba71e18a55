"""Sub-word alignment and windows of the tag task, on a word-piece tokenizer built here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from transformers import BertTokenizerFast

from bizlm.tasks.tag_windows import (
    IGNORED,
    _spans,
    encode_windows,
    training_features,
    word_logits,
)


@pytest.fixture(scope="module")
def tokenizer() -> BertTokenizerFast:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "un", "##happy", "##ly", "ada"]
    return BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})


def test_label_goes_on_the_first_sub_token_only(tokenizer) -> None:
    windows = encode_windows(tokenizer, [["the", "unhappyly", "ada"]], 16, "window")
    [feature] = training_features(windows, [[0, 1, 2]])
    # [CLS] the un ##happy ##ly ada [SEP]
    assert feature["labels"] == [IGNORED, 0, 1, IGNORED, IGNORED, 2, IGNORED]
    assert len(feature["labels"]) == len(feature["input_ids"])


def test_spans_overlap_and_cover_every_word() -> None:
    counts = [1] * 20
    spans = _spans(counts, budget=8, overlap=2)
    covered = {w for start, end in spans for w in range(start, end)}
    assert covered == set(range(20))
    assert all(b[0] < a[1] for a, b in itertools.pairwise(spans))  # overlapping
    assert all(sum(counts[s:e]) <= 8 for s, e in spans)


def test_truncate_mode_counts_what_it_cuts(tokenizer) -> None:
    sentence = ["the"] * 30
    windows = encode_windows(tokenizer, [sentence, ["ada"]], 12, "truncate")
    assert windows.cut_sentences == 1
    assert windows.words_lost == 30 - 10  # 12 minus [CLS] and [SEP]
    assert len(windows.windows) == 2


def test_each_word_is_read_from_the_window_where_it_has_most_context(tokenizer) -> None:
    sentence = ["the"] * 30
    windows = encode_windows(tokenizer, [sentence], 12, "window")
    assert windows.windowed_sentences == 1 and len(windows.windows) > 2

    def forward(batch):
        # logit 0 of each position is its index in the window, so the merged value tells
        # which window a word was read from
        width = batch["input_ids"].shape[1]
        out = np.zeros((*batch["input_ids"].shape, 2), dtype=np.float32)
        out[:, :, 0] = np.arange(width)
        return out

    merged = word_logits(forward, windows, 0, 8, n_tags=2)[0]
    assert merged.shape == (30, 2)
    for word in range(30):
        holding = [w for w in windows.windows if w.start <= word < w.end]
        best = max(holding, key=lambda w: min(word - w.start, w.end - 1 - word))
        assert merged[word, 0] == word - best.start + 1  # +1: [CLS]
