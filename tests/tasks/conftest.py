"""Small synthetic data for the task tests: entity sentences, multi-label rows, scored pairs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import FILLER, WORDS

PEOPLE = WORDS["positive"]  # words that are PER entities in the tagging data
PLACES = WORDS["negative"]  # words that are LOC entities


def entity_sentences(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Sentences of (word, BIO tag): people and places among filler words."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words: list[tuple[str, str]] = [(w, "O") for w in rng.sample(FILLER, 3)]
        person = rng.sample(PEOPLE, rng.randint(1, 2))
        place = [rng.choice(PLACES)]
        spot = rng.randint(0, len(words))
        words[spot:spot] = [(w, ("B-" if i == 0 else "I-") + "PER") for i, w in enumerate(person)]
        words.append((rng.choice(FILLER), "O"))
        words += [(w, "B-LOC") for w in place]
        sentences.append(words)
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    """Write sentences as token<TAB>tag lines with a blank line between sentences."""
    blocks = ["\n".join(f"{w}\t{t}" for w, t in sentence) for sentence in sentences]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


def tag_config(model: Path, folder: Path, sentences: int, epochs: int) -> dict:
    """A raw recipe that trains ``model`` to tag PER and LOC in synthetic sentences."""
    train = write_conll(folder / "train.conll", entity_sentences(sentences, seed=1))
    return {
        "model": str(model),
        "task": {"type": "tag"},
        "data": {"train": str(train)},
        "train": {
            "epochs": epochs,
            "batch_size": 16,
            "learning_rate": 1e-2,
            "max_length": 32,
            "warmup_ratio": 0.0,
            "early_stopping_patience": None,
        },
        "output": str(folder / "tagger"),
    }


@pytest.fixture()
def tag_recipe(tiny_model_dir: Path, tmp_path: Path) -> dict:
    """A quick tagging recipe for the error tests."""
    return tag_config(tiny_model_dir, tmp_path, sentences=60, epochs=1)
