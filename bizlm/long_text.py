"""Texts longer than ``train.max_length`` tokens, for classify and score: cut, head and tail, or
windows (``task.long_inputs``; taggers window whole words, see ``bizlm.tasks.tag_windows``).

* ``truncate``: the first ``max_length`` tokens (a text pair is cut from its longer side);
* ``head_tail``: a quarter of the token budget from the start of the text and the rest from its
  end (Sun et al., 2019, "How to Fine-Tune BERT for Text Classification?": the first 128 and
  last 382 of 510 tokens did best on long reviews and news);
* ``window``: windows half a window apart that cover the whole text; in training each is an
  example with the text's label, and a text's prediction averages its windows' probabilities.

Training features, validation and the predictor all encode with :func:`encode_texts`, so a
bundle reads a long text at prediction time as it read the long texts it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bizlm.batching import Features
from bizlm.bundle_info import BundleInfo
from bizlm.inference import count_truncated, softmax, tokenize

MODES = ("truncate", "head_tail", "window")
HEAD_SHARE = 0.25  # of the token budget taken from the start of the text in head_tail
MAX_TRAINING_WINDOWS = 8  # windows of one text used for training; prediction uses them all


def applied_mode(task_type: str, long_inputs: str) -> str:
    """What ``task.long_inputs`` does for a task type: ``auto`` windows a tagger's sentences
    and cuts the texts of the other tasks."""
    if long_inputs == "auto":
        return "window" if task_type == "tag" else "truncate"
    return long_inputs


def bundle_mode(info: BundleInfo) -> str:
    """The long-input mode of a bundle (or of a predictor's settings), from its recipe."""
    return applied_mode(info.task_type, str(info.task_settings.get("long_inputs", "auto")))


@dataclass
class Encoded:
    """Model inputs for a list of texts: one per text, or several per long text (windows)."""

    features: list[Features]
    #: the index of the text each input belongs to
    owners: list[int]
    #: windows left out because a text had more than the allowed number
    windows_dropped: int = 0


def encode_texts(
    tokenizer: Any,
    texts: Sequence[str],
    max_length: int,
    pairs: Sequence[str] | None = None,
    mode: str = "truncate",
    max_windows: int | None = None,
) -> Encoded:
    """Tokenise texts (or pairs) for the model, fitting long ones to ``max_length`` by ``mode``.

    Texts that fit are encoded exactly as ``bizlm.inference.tokenize`` encodes them.
    ``max_windows`` caps the windows of one text (evenly spread, first and last kept).
    """
    if mode not in MODES:
        raise ValueError(f"Unknown long-input mode '{mode}'; choose from {MODES}.")
    if mode == "truncate":
        features = tokenize(tokenizer, texts, max_length, pairs)
        return Encoded(features, list(range(len(features))))
    if mode == "window" and pairs is not None:
        raise ValueError("Windows cover single texts, not text pairs.")
    encoded = tokenizer(list(texts), list(pairs) if pairs is not None else None, padding=False)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    result = Encoded([], [])
    for index in range(len(texts)):
        full = {key: encoded[key][index] for key in keys}
        if len(full["input_ids"]) <= max_length:
            pieces = [full]
        else:
            segments = encoded.sequence_ids(index)
            if mode == "head_tail":
                pieces = [_select(full, _head_tail(segments, max_length))]
            else:
                spans = _windows(segments, max_length)
                if max_windows is not None and len(spans) > max_windows:
                    result.windows_dropped += len(spans) - max_windows
                    chosen = np.linspace(0, len(spans) - 1, max_windows).round().astype(int)
                    spans = [spans[i] for i in chosen]
                pieces = [_select(full, positions) for positions in spans]
        result.features += pieces
        result.owners += [index] * len(pieces)
    return result


def _select(full: Features, positions: list[int]) -> Features:
    """The input at ``positions`` (ascending) of a full encoding, every key alike."""
    return {key: [values[p] for p in positions] for key, values in full.items()}


def _head_tail(segments: list[int | None], max_length: int) -> list[int]:
    """Positions kept of an over-long encoding: all special tokens, and of each text its head
    and tail; a pair's budget goes to its longer text first, as ``truncate`` cuts it."""
    special = [p for p, s in enumerate(segments) if s is None]
    parts = [[p for p, s in enumerate(segments) if s == seq] for seq in (0, 1)]
    budget = max(0, max_length - len(special))
    shares = [len(part) for part in parts]
    if shares[1]:
        shorter = int(shares[1] < shares[0])
        shares[shorter] = min(shares[shorter], budget // 2)
        shares[1 - shorter] = budget - shares[shorter]
    else:
        shares[0] = budget
    kept = list(special)
    for part, share in zip(parts, shares, strict=True):
        head = int(share * HEAD_SHARE)
        tail = share - head
        kept += part if share >= len(part) else part[:head] + part[len(part) - tail :]
    return sorted(kept)


def _windows(segments: list[int | None], max_length: int) -> list[list[int]]:
    """Positions of each window of an over-long single text: its special tokens around a run
    of text tokens; runs start half a window apart and the last one ends with the text."""
    tokens = [p for p, s in enumerate(segments) if s is not None]
    before = [p for p, s in enumerate(segments) if s is None and p < tokens[0]]
    after = [p for p, s in enumerate(segments) if s is None and p > tokens[0]]
    size = max(1, max_length - len(before) - len(after))
    stride = max(1, size // 2)
    starts = [*range(0, len(tokens) - size, stride), len(tokens) - size]
    return [before + tokens[start : start + size] + after for start in starts]


def average_windows(probabilities: np.ndarray, owners: Sequence[int], count: int) -> np.ndarray:
    """Per text, the mean of its inputs' probability rows (``owners`` maps input to text)."""
    if len(owners) == count:
        return probabilities
    index = np.asarray(owners)
    totals = np.zeros((count, probabilities.shape[1]), dtype=np.float64)
    np.add.at(totals, index, probabilities)
    return (totals / np.bincount(index, minlength=count)[:, None]).astype(probabilities.dtype)


def window_logits(logits: np.ndarray, owners: Sequence[int], count: int) -> np.ndarray:
    """Per text, scores whose softmax is the mean of its windows' softmax probabilities."""
    if len(owners) == count:
        return logits
    return np.log(average_windows(softmax(logits), owners, count) + 1e-30)


def length_note(
    tokenizer: Any,
    texts: Sequence[str],
    max_length: int,
    pairs: Sequence[str] | None,
    mode: str,
) -> str | None:
    """A sentence for the run's notes: how many texts are too long, and what happens to them."""
    long_texts = count_truncated(tokenizer, texts, max_length, pairs)
    if not long_texts:
        return None
    opening = (
        f"{long_texts} of {len(texts)} texts are longer than train.max_length={max_length} tokens"
    )
    if mode == "head_tail":
        return f"{opening}; their first and last tokens are kept (task.long_inputs: head_tail)."
    if mode == "window":
        encoded = encode_texts(tokenizer, texts, max_length, pairs, mode, MAX_TRAINING_WINDOWS)
        dropped = encoded.windows_dropped
        left_out = f", leaving out {dropped} windows" if dropped else ""
        return (
            f"{opening} and are covered by overlapping windows (task.long_inputs: window); "
            f"training uses at most {MAX_TRAINING_WINDOWS} windows per text{left_out}."
        )
    return (
        f"{opening} and are cut to it; raise train.max_length, or set task.long_inputs "
        "(head_tail keeps their start and end), to keep more of them."
    )
