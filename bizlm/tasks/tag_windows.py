"""Word-level token classification on sub-word models: windows, label alignment, merging back.

Sentences arrive as words. Each word's label goes on its first sub-token; its other sub-tokens
and the special tokens get -100 (ignored by the loss). A sentence longer than ``max_length``
sub-tokens is covered by overlapping windows of whole words (``window`` mode), or cut
(``truncate`` mode, with the words lost counted). Predictions come back per word: each word is
read from the window where it sits furthest from an edge, so it sees the most context.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bizlm.batching import Features
from bizlm.data.words import is_cjk
from bizlm.inference import batched_outputs
from bizlm.losses import IGNORED

SENTENCEPIECE_MARKER = "\u2581"  # the word-boundary piece of sentencepiece vocabularies


@dataclass
class Window:
    """One model input covering words ``start:end`` of sentence ``sentence``."""

    sentence: int
    start: int
    end: int
    features: Features
    #: for each input position, the word (sentence index) whose first sub-token it is, else -1
    first_token_of: list[int]


@dataclass
class Windows:
    """All windows of a batch of sentences, and what did not fit."""

    windows: list[Window]
    words: list[int]  # number of words per sentence
    cut_sentences: int = 0  # sentences cut short (truncate mode)
    words_lost: int = 0  # words that no window covers (truncate mode)
    windowed_sentences: int = 0  # sentences needing more than one window


def word_pieces(tokenizer: Any, words: list[str]) -> list[list[int]]:
    """Sub-token ids of each word, as the tokenizer splits words given one by one.

    Sentencepiece tokenizers mark every such word with a word-boundary piece (``▁``). Chinese
    is written without spaces, so a CJK character that comes out as a bare ``▁`` plus the
    character loses the ``▁``: half the length, and closer to how the model saw the text.
    """
    if not words:
        return []
    encoded = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    pieces: list[list[int]] = [[] for _ in words]
    for token, word in zip(encoded["input_ids"], encoded.word_ids(), strict=True):
        if word is not None:
            pieces[word].append(token)
    marker = _boundary_marker(tokenizer)
    if marker is not None:
        for index, word in enumerate(words):
            ids = pieces[index]
            if len(ids) > 1 and ids[0] == marker and is_cjk(word):
                pieces[index] = ids[1:]
    return pieces


def _boundary_marker(tokenizer: Any) -> int | None:
    marker = tokenizer.convert_tokens_to_ids(SENTENCEPIECE_MARKER)
    return None if marker is None or marker == tokenizer.unk_token_id else int(marker)


def _spans(counts: list[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Word ranges whose sub-tokens fit ``budget``, each overlapping the last by ~``overlap``."""
    spans, start = [], 0
    while start < len(counts):
        end, used = start, 0
        while end < len(counts) and (end == start or used + counts[end] <= budget):
            used += counts[end]
            end += 1
        spans.append((start, end))
        if end >= len(counts):
            break
        back, shared = end, 0
        while back - 1 > start and shared + counts[back - 1] <= overlap:
            back -= 1
            shared += counts[back]
        start = back
    return spans


def encode_windows(
    tokenizer: Any, sentences: Sequence[list[str]], max_length: int, mode: str
) -> Windows:
    """Windows over the sentences' words; ``mode`` is ``window`` or ``truncate``."""
    frame = special_frame(tokenizer)
    budget = max(1, max_length - len(frame[0]) - len(frame[1]))
    result = Windows(windows=[], words=[len(words) for words in sentences])
    for index, words in enumerate(sentences):
        pieces = word_pieces(tokenizer, words)
        spans = _spans([len(p) for p in pieces], budget, budget // 4) if words else [(0, 0)]
        if len(spans) > 1 and mode == "truncate":
            result.cut_sentences += 1
            result.words_lost += len(words) - spans[0][1]
            spans = spans[:1]
        result.windowed_sentences += len(spans) > 1
        for start, end in spans:
            window = _window(tokenizer, index, pieces, (start, end), budget, frame)
            result.windows.append(window)
    return result


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens a tokenizer puts before and after a single text (e.g. [CLS], [SEP])."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for at in range(len(full) - len(bare) + 1):
        if full[at : at + len(bare)] == bare:
            return full[:at], full[at + len(bare) :]
    return [], []


def _window(
    tokenizer: Any,
    sentence: int,
    pieces: list[list[int]],
    span: tuple[int, int],
    budget: int,
    frame: tuple[list[int], list[int]],
) -> Window:
    start, end = span
    ids: list[int] = []
    first: list[int] = []
    for word in range(start, end):
        kept = pieces[word][: max(0, budget - len(ids))]  # a single over-long word is cut
        first += [word if i == 0 else -1 for i in range(len(kept))]
        ids += kept
    before, after = frame
    input_ids = before + ids + after
    features: Features = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)}
    if "token_type_ids" in tokenizer.model_input_names:
        features["token_type_ids"] = [0] * len(input_ids)
    return Window(sentence, start, end, features, [-1] * len(before) + first + [-1] * len(after))


def training_features(windows: Windows, tag_ids: Sequence[list[int]]) -> list[Features]:
    """Each window's inputs with labels on first sub-tokens (``IGNORED`` elsewhere)."""
    features = []
    for window in windows.windows:
        tags = tag_ids[window.sentence]
        labels = [tags[word] if word >= 0 else IGNORED for word in window.first_token_of]
        features.append({**window.features, "labels": labels})
    return features


def word_logits(
    forward: Callable[[dict[str, torch.Tensor]], np.ndarray],
    windows: Windows,
    pad_id: int,
    batch_size: int,
    n_tags: int,
    call_overhead: int | None = None,
) -> list[np.ndarray]:
    """Per sentence, a (words, tags) array of logits; uncovered words get all-zero rows.

    ``call_overhead`` cuts the batches as ``batched_outputs`` does."""
    outputs = batched_outputs(
        forward,
        [w.features for w in windows.windows],
        pad_id,
        batch_size,
        per_token=True,
        call_overhead=call_overhead,
    )
    merged = [np.zeros((n, n_tags), dtype=np.float32) for n in windows.words]
    margin = [np.full(n, -1) for n in windows.words]
    for window, logits in zip(windows.windows, outputs, strict=True):
        for position, word in enumerate(window.first_token_of):
            if word < 0:
                continue
            distance = min(word - window.start, window.end - 1 - word)
            if distance > margin[window.sentence][word]:
                margin[window.sentence][word] = distance
                merged[window.sentence][word] = logits[position]
    return merged
