"""A tiny trained bundle shared by the compression tests (trained once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY_TRAIN, make_rows, write_csv


@pytest.fixture(scope="session")
def tiny_bundle(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT fine-tuned on 240 word-list texts; never modified by tests."""
    import bizlm

    folder = tmp_path_factory.mktemp("compress-source")
    data = write_csv(folder / "train.csv", make_rows(240, seed=1))
    recipe = {
        "model": str(tiny_model_dir),
        "data": {"train": str(data)},
        "train": dict(TINY_TRAIN),
        "output": str(folder / "bundle"),
    }
    return bizlm.train(recipe).bundle


@pytest.fixture(scope="session")
def texts() -> list[str]:
    """A few texts of different lengths."""
    return ["good flight", "the crew was rude and the plane was slow", "my bag", "nice seat today"]
