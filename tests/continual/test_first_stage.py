"""A class-incremental stream may start with one label: declared in task.labels, then grown."""

from __future__ import annotations

from pathlib import Path

import pytest

import bizlm
from bizlm.continual.update import update
from bizlm.errors import DataError
from tests.conftest import make_rows, write_csv


def _recipe(tiny_recipe: dict, data: Path, output: Path, labels: list[str] | None) -> dict:
    return {
        **tiny_recipe,
        "task": {"labels": labels},
        "data": {"train": str(data)},
        "output": str(output),
    }


def test_one_declared_label_trains_a_first_stage_that_updates_grow(
    tiny_recipe: dict, tmp_path: Path
) -> None:
    only = write_csv(tmp_path / "neutral.csv", make_rows(60, seed=4, labels=("neutral",)))
    first = bizlm.train(_recipe(tiny_recipe, only, tmp_path / "first", ["neutral"])).bundle
    predictor = bizlm.load(first)
    assert predictor.predict(["good great"])[0] == {
        "label": "neutral",
        "score": pytest.approx(1.0),
        "probabilities": {"neutral": pytest.approx(1.0)},
    }
    more = write_csv(tmp_path / "more.csv", make_rows(90, seed=5, labels=("positive", "negative")))
    info = update(first, more, tmp_path / "second", "replay").info
    assert info["labels"] == ["neutral", "negative", "positive"]
    assert info["continual"]["matrix"][0] == [1.0]


def test_one_label_without_a_declaration_is_still_refused(
    tiny_recipe: dict, tmp_path: Path
) -> None:
    only = write_csv(tmp_path / "neutral.csv", make_rows(30, seed=4, labels=("neutral",)))
    with pytest.raises(DataError, match="only 1 distinct label"):
        bizlm.train(_recipe(tiny_recipe, only, tmp_path / "first", None))
