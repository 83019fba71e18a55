"""Checkpoints survive a hard kill, and a resumed run ends with the weights of an unbroken one."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import bizlm
from bizlm.cli import run
from bizlm.errors import BundleError, DataError, RecipeError
from bizlm.progress import Reporter
from tests.conftest import make_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
# 120 rows: 96 train examples, 6 batches of 16 per epoch, evaluations at batches 3 and 6
SLOW_TRAINING = """
import json, sys, time
import bizlm
from bizlm.progress import Reporter

class Slow(Reporter):
    def advance(self, units=1, **fields):
        time.sleep(0.05)

bizlm.train(json.loads(sys.argv[1]), reporter=Slow())
"""


class InterruptAfter(Reporter):
    """Acts like a user pressing Ctrl-C during the given batch."""

    def __init__(self, batches: int) -> None:
        self.remaining = batches

    def advance(self, units: int = 1, **fields: float) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def base_recipe(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three epochs of the tiny model, with dropout, warmup and two evaluations per epoch."""
    folder = tmp_path_factory.mktemp("resume")
    return {
        "model": str(tiny_model_dir),
        "data": {"train": str(write_csv(folder / "train.csv", make_rows(120, seed=1)))},
        "train": {
            "epochs": 3,
            "batch_size": 16,
            "learning_rate": 5e-3,
            "max_length": 32,
            "warmup_ratio": 0.2,
            "early_stopping_patience": None,
            "evaluations_per_epoch": 2,
        },
        "output": str(folder / "unbroken"),
    }


@pytest.fixture(scope="module")
def unbroken(base_recipe: dict) -> dict:
    """The bundle record of a run that was never stopped (and wrote no checkpoints)."""
    return {"bundle": bizlm.train(base_recipe).bundle}


def _checkpointed(base_recipe: dict, folder: Path, **train: object) -> dict:
    recipe = copy.deepcopy(base_recipe)
    recipe["output"] = str(folder / "run")
    recipe["train"].update({"checkpoint_every": 2, **train})
    return recipe


def _steps(output: str) -> set[int]:
    return {int(p.name.removeprefix("step-")) for p in Path(output + ".checkpoints").glob("step-*")}


def _assert_same_run(bundle: Path, unbroken: dict) -> None:
    """Bit-identical final weights and an identical training history."""
    expected = load_file(Path(unbroken["bundle"]) / "model" / "model.safetensors")
    actual = load_file(Path(bundle) / "model" / "model.safetensors")
    assert actual.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(actual[name], tensor), name
    history = [
        json.loads((Path(b) / "bizlm.json").read_text())["training"]["history"]
        for b in (bundle, unbroken["bundle"])
    ]
    assert history[0] == history[1]


def test_sigkilled_run_resumes_from_the_cli_to_identical_weights(
    base_recipe: dict, unbroken: dict, tmp_path: Path
) -> None:
    recipe = _checkpointed(base_recipe, tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONPATH": str(ROOT)}
    log = tmp_path / "training.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_TRAINING, json.dumps(recipe)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while 8 not in _steps(recipe["output"]):  # mid second epoch
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not Path(recipe["output"]).exists()  # killed before the bundle was written
    assert max(_steps(recipe["output"])) < 18
    assert run(["train", "--resume", recipe["output"], "--quiet"]) == 0
    _assert_same_run(Path(recipe["output"]), unbroken)


def test_ctrl_c_at_an_epoch_end_then_resume_true_matches_and_rotates(
    base_recipe: dict, unbroken: dict, tmp_path: Path
) -> None:
    recipe = _checkpointed(base_recipe, tmp_path)
    assert bizlm.train(recipe, reporter=InterruptAfter(7)).interrupted
    assert max(_steps(recipe["output"])) == 6  # saved after the first epoch's last batch
    result = bizlm.train(recipe, resume=True)
    _assert_same_run(result.bundle, unbroken)
    best = result.info["training"]["best"]["step"]
    assert _steps(recipe["output"]) == {16, 18} | ({best} if best % 2 == 0 else set())


def test_resume_without_a_checkpoint_says_where_one_was_expected(
    base_recipe: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["train", "--resume", str(tmp_path / "nothing")]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "No checkpoint to resume from" in message
    assert "nothing.checkpoints" in "".join(message.split())  # the path may be wrapped
    assert "train.checkpoint_every" in message
    with pytest.raises(BundleError, match=r"expected folders named step-<N> in .*run\.checkpoints"):
        bizlm.train(_checkpointed(base_recipe, tmp_path), resume=True)


def test_train_without_recipe_or_resume_is_a_clear_error(capsys: pytest.CaptureFixture) -> None:
    assert run(["train"]) == 2
    assert "No recipe given" in capsys.readouterr().err


def test_resume_refuses_another_recipe_or_data_but_not_another_output(
    base_recipe: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = copy.deepcopy(base_recipe)
    base["data"]["train"] = str(write_csv(tmp_path / "train.csv", make_rows(120, seed=1)))
    recipe = _checkpointed(base, tmp_path, epochs=1, checkpoint_every=3)
    bizlm.train(recipe)
    assert _steps(recipe["output"]) == {3, 6}

    changed = copy.deepcopy(recipe)
    changed["train"]["learning_rate"] = 0.002
    changed["method"] = "lora"
    with pytest.raises(RecipeError) as caught:
        bizlm.train(changed, resume=True)
    assert "train.learning_rate: 0.005 -> 0.002" in caught.value.message
    assert 'method.name: "full" -> "lora"' in caught.value.message
    recipe_file = tmp_path / "changed.yaml"
    recipe_file.write_text(yaml.safe_dump(changed))
    assert run(["train", str(recipe_file), "--resume", recipe["output"]]) == 2
    assert "learning_rate: 0.005 -> 0.002" in " ".join(capsys.readouterr().err.split())

    write_csv(Path(base["data"]["train"]), make_rows(120, seed=2))
    with pytest.raises(DataError, match="data files changed"):
        bizlm.train(recipe, resume=True)
    write_csv(Path(base["data"]["train"]), make_rows(120, seed=1))

    elsewhere = {**recipe, "output": str(tmp_path / "elsewhere")}
    elsewhere["train"] = {**recipe["train"], "checkpoint_every": 2}
    result = bizlm.train(elsewhere, resume=recipe["output"])
    assert result.info["training"]["optimizer_steps"] == 6


def test_a_fresh_run_replaces_an_older_runs_checkpoints(base_recipe: dict, tmp_path: Path) -> None:
    old = _checkpointed(base_recipe, tmp_path, epochs=1, checkpoint_every=3)
    bizlm.train(old)
    (Path(old["output"] + ".checkpoints") / ".step-5.tmp-leftover").mkdir()
    new = _checkpointed(base_recipe, tmp_path, epochs=1, checkpoint_every=2)
    bizlm.train(new)
    assert _steps(new["output"]) == {4, 6}  # the old step-3 is gone; no evaluation at 2 or 4
    assert not list(Path(new["output"] + ".checkpoints").glob(".step-*"))
