"""Ctrl-C during training keeps the best weights so far in a usable bundle and says so."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

import bizlm
from bizlm.cli import run
from bizlm.progress import Reporter


class InterruptAfter(Reporter):
    """Acts like a user pressing Ctrl-C after a number of training steps."""

    def __init__(self, steps: int) -> None:
        self.remaining = steps

    def advance(self, units: int = 1, **fields: float) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            raise KeyboardInterrupt


def test_interrupted_training_writes_the_best_checkpoint(tiny_recipe: dict) -> None:
    tiny_recipe["train"]["evaluations_per_epoch"] = 4
    result = bizlm.train(tiny_recipe, reporter=InterruptAfter(steps=8))
    assert result.interrupted
    info = json.loads((Path(result.bundle) / "bizlm.json").read_text())
    assert info["training"]["interrupted"] is True
    assert info["training"]["best"]["step"] <= 8
    predictions = bizlm.load(result.bundle).predict(["good great flight"])
    assert predictions[0]["label"] in info["labels"]


def test_cli_says_where_the_checkpoint_is_and_exits_130(
    tiny_recipe: dict, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("bizlm.cli.train.RichReporter", lambda console: InterruptAfter(3))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    assert run(["train", str(recipe)]) == 130
    message = " ".join(capsys.readouterr().err.split())
    assert "Training interrupted" in message
    assert str(tmp_path / "bundle") in message
