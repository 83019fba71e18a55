"""A tiny two-label parent bundle and a file of a new, third label, shared by the update tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_rows, write_csv

UPDATE_TRAIN = {
    "epochs": 4,
    "batch_size": 16,
    "learning_rate": 5e-3,
    "max_length": 32,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}


@pytest.fixture(scope="module")
def parent_bundle(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classifier of positive/negative, trained from a CSV that stays readable."""
    import bizlm

    folder = tmp_path_factory.mktemp("parent")
    data = write_csv(folder / "old.csv", make_rows(160, seed=1, labels=("positive", "negative")))
    recipe = {
        "model": str(tiny_model_dir),
        "data": {"train": str(data)},
        "train": UPDATE_TRAIN,
        "continual": {"memory_per_class": 10},
        "output": str(folder / "bundle"),
    }
    return bizlm.train(recipe).bundle


@pytest.fixture(scope="module")
def new_label_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 rows of a label the parent never saw."""
    folder = tmp_path_factory.mktemp("new")
    return write_csv(folder / "new.csv", make_rows(120, seed=2, labels=("neutral",)))
