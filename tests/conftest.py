"""Shared fixtures: a tiny random BERT built from a config, and small labelled files."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

WORDS = {
    "positive": ["good", "great", "love", "happy", "excellent", "nice", "friendly", "fast"],
    "negative": ["bad", "awful", "hate", "sad", "terrible", "rude", "slow", "broken"],
    "neutral": ["flight", "seat", "bag", "gate", "ticket", "today", "plane", "crew"],
}
FILLER = ["the", "was", "my", "and", "very", "a", "it", "is"]
# train settings under which the tiny model learns the word-list labels in seconds
TINY_TRAIN = {
    "epochs": 6,
    "batch_size": 16,
    "learning_rate": 5e-3,
    "max_length": 32,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}
# the tiny models' bundles predict with the transformer alone, which these tests compare with
# plain transformers; the blend with the baseline's n-gram model has its own tests
TINY_EVALUATION = {"blend": False}


def save_tiny_bert(directory: Path) -> Path:
    """Save a 2-layer, 32-wide random BertModel with a word-level vocabulary, like a hub model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *FILLER]
    vocab += [w for words in WORDS.values() for w in words] + list("abcdefghijklmnopqrstuvwxyz")
    BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}).save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    return directory


def one_epoch_recipe(model: Path, train: Path, output: Path) -> dict:
    """A recipe that trains the tiny model for one epoch on ``train`` (enough for plumbing)."""
    return {
        "model": str(model),
        "data": {"train": str(train)},
        "train": {**TINY_TRAIN, "epochs": 1},
        "evaluation": dict(TINY_EVALUATION),
        "output": str(output),
    }


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random BERT of :func:`save_tiny_bert`, saved once per test session."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def make_rows(count: int, seed: int, labels: tuple[str, ...] = ("positive", "negative", "neutral")):
    """Texts whose label is decided by which word list they draw from."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = labels[index % len(labels)]
        words = rng.sample(WORDS[label], 2) + rng.sample(FILLER, rng.randint(1, 5))
        rng.shuffle(words)
        rows.append({"id": str(index), "text": " ".join(words), "label": label})
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write rows (same keys) as a UTF-8 CSV with a header."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture()
def labelled_csv(tmp_path: Path) -> Path:
    """A 240-row, 3-class CSV that a tiny model can learn in a few epochs."""
    return write_csv(tmp_path / "train.csv", make_rows(240, seed=1))


@pytest.fixture()
def tiny_recipe(tiny_model_dir: Path, labelled_csv: Path, tmp_path: Path) -> dict:
    """A raw recipe mapping that trains the tiny model quickly."""
    return {
        "model": str(tiny_model_dir),
        "data": {"train": str(labelled_csv)},
        "train": dict(TINY_TRAIN),
        "evaluation": dict(TINY_EVALUATION),
        "output": str(tmp_path / "bundle"),
    }
