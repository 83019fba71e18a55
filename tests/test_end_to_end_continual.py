"""End to end with the real default model: a class-incremental bbc-news stream in two stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bizlm
from bizlm.continual.stream import write_stream
from bizlm.continual.update import update

pytestmark = pytest.mark.slow

TRAIN = {
    "epochs": 2,
    "batch_size": 16,
    "learning_rate": 2e-4,
    "max_length": 64,
    "early_stopping_patience": None,
}


@pytest.fixture(scope="module")
def stream_and_parent(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("continual-e2e")
    manifest = write_stream("bbc-news", 2, folder / "stream", seed=13)
    first = folder / "stream" / "stage-0"
    recipe = {
        "model": "default",
        "task": {"labels": manifest["stages"][0]["labels"]},
        "data": {
            "train": str(first / "train.jsonl"),
            "validation": str(first / "validation.jsonl"),
            "test": str(first / "test.jsonl"),
            "max_train_examples": 120,
        },
        "train": TRAIN,
        "output": str(folder / "stage-0"),
    }
    return folder / "stream", bizlm.train(recipe).bundle


def _update(stream: Path, parent: Path, output: Path, strategy: str) -> dict:
    stage = stream / "stage-1"
    overrides = [
        f"data.validation={stage / 'validation.jsonl'}",
        f"data.test={stage / 'test.jsonl'}",
        "data.max_train_examples=180",
    ]
    return update(parent, stage / "train.jsonl", output, strategy, overrides).info


def test_replay_learns_new_topics_and_keeps_the_old_ones(
    stream_and_parent: tuple[Path, Path], tmp_path: Path
) -> None:
    stream, parent = stream_and_parent
    replay = _update(stream, parent, tmp_path / "replay", "replay")
    naive = _update(stream, parent, tmp_path / "naive", "naive")
    (before,), (old_after, new_after) = replay["continual"]["matrix"]
    assert before > 0.85  # two topics from 120 articles
    assert new_after > 0.75  # three new topics learnt
    assert old_after > 0.8  # the old topics kept, now told apart from five topics
    naive_old = naive["continual"]["matrix"][1][0]
    assert naive_old < old_after - 0.3  # plain fine-tuning on new topics forgets the old
    assert replay["continual"]["memory"]["size"] == 20 * 5
    stages = json.loads((tmp_path / "replay" / "bizlm.json").read_text())["continual"]["stages"]
    assert [len(stage["labels"]) for stage in stages] == [2, 3]
