"""Two CPU processes (gloo) train the weights one process trains with the same global batch.

With N processes each takes its slice of every batch of ``batch_size * N`` that the
length-grouped sampler makes, so every optimizer step sees the examples of a one-process run
whose ``batch_size`` is N times larger, in the same order. The weights agree to a tolerance, not
bit for bit: each process pads its slice to its own longest text (one process pads the whole
batch to the longest), so the matrix products have other shapes and round differently, and the
gradient is the mean of two per-slice means, summed in another order than one mean over the
batch. The 192 training examples fill whole batches of 16 (a short last batch would be topped
up with examples from the start of the epoch in every process, as Accelerate does). Dropout is
off: each process would draw its own masks.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import bizlm
from bizlm.cli import run
from bizlm.errors import BizlmError, BundleError, DataError
from bizlm.recipe import TrainConfig
from bizlm.training.distributed import check_setup
from bizlm.training.launch import TrainingFailed, _outcome, main
from tests.conftest import make_rows, write_csv

PER_PROCESS = ["--set", "train.batch_size=8", "--set", "train.checkpoint_every=6"]


@pytest.fixture(scope="module")
def recipe(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two epochs of a dropout-free copy of the tiny model, evaluated twice per epoch."""
    folder = tmp_path_factory.mktemp("distributed")
    model = folder / "tiny-no-dropout"
    model.mkdir()
    for source in tiny_model_dir.iterdir():
        (model / source.name).write_bytes(source.read_bytes())
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (model / "config.json").write_text(json.dumps(config))
    return {
        "model": str(model),
        "data": {"train": str(write_csv(folder / "train.csv", make_rows(240, seed=1)))},
        "train": {
            "epochs": 2,
            "batch_size": 16,
            "learning_rate": 5e-3,
            "max_length": 32,
            "warmup_ratio": 0.1,
            "early_stopping_patience": None,
            "evaluations_per_epoch": 2,
        },
        "output": str(folder / "single"),
    }


@pytest.fixture(scope="module")
def runs(recipe: dict) -> dict[str, Path]:
    """The same training in one process (batch 16) and in two (batch 8 each, via the CLI)."""
    single = bizlm.train(recipe).bundle
    path = Path(recipe["output"]).with_name("recipe.yaml")
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    two = path.with_name("two")
    code = run(
        ["train", str(path), "--processes", "2", "--output", str(two), "--quiet", *PER_PROCESS]
    )
    assert code == 0
    return {"single": Path(single), "two": two}


def _info(bundle: Path) -> dict:
    return json.loads((bundle / "bizlm.json").read_text())


def test_two_processes_train_the_weights_of_one_with_the_same_global_batch(runs: dict) -> None:
    single = load_file(runs["single"] / "model" / "model.safetensors")
    two = load_file(runs["two"] / "model" / "model.safetensors")
    assert two.keys() == single.keys()
    for name, tensor in single.items():
        torch.testing.assert_close(two[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    records = [_info(runs[key])["training"] for key in ("single", "two")]
    assert [r["processes"] for r in records] == [1, 2]
    assert records[0]["optimizer_steps"] == records[1]["optimizer_steps"] == 24
    for one, other in zip(records[0]["history"], records[1]["history"], strict=True):
        assert one.keys() == other.keys()
        for key, value in one.items():  # losses are averaged over both processes
            assert other[key] == pytest.approx(value, rel=1e-4), key


def test_only_the_main_process_writes_checkpoints_with_every_process_random_state(
    runs: dict,
) -> None:
    folder = runs["two"].with_name("two.checkpoints")
    names = {p.name for p in folder.iterdir()}
    assert {"step-18", "step-24"} <= names  # the last two (and the best one)
    assert all((folder / name / "checkpoint.json").is_file() for name in names)  # all complete
    states = torch.load(folder / "step-24" / "states.pt", weights_only=True)
    assert len(states["rng"]) == 2
    assert _info(runs["two"])["recipe"]["train"]["batch_size"] == 8


def test_resuming_with_another_number_of_processes_is_refused(recipe: dict, runs: dict) -> None:
    resumed = {**recipe, "output": str(runs["two"])}
    resumed["train"] = {**recipe["train"], "batch_size": 8, "checkpoint_every": 6}
    with pytest.raises(BundleError, match=r"2 process\(es\), and this run has 1.*--processes 2"):
        bizlm.train(resumed, resume=True)


def test_more_processes_than_the_machine_can_run_exit_with_code_2(
    recipe: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    assert run(["train", str(path), "--processes", "4096"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "--processes 4096 is more than this machine can run" in message
    assert "Traceback" not in message


def test_processes_launched_together_that_cannot_connect_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")  # as a GPU launch on a machine without GPUs leaves it
    with pytest.raises(BizlmError, match=r"2 processes were launched, but each trains alone"):
        check_setup(TrainConfig())


def test_a_data_error_in_the_workers_is_one_clear_message_and_exit_code_2(
    recipe: dict, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({**recipe, "output": str(tmp_path / "out")}), encoding="utf-8")
    argv = ["train", str(path), "--processes", "2", "--set", "task.text_column=body", "--quiet"]
    assert run(argv) == 2
    message = " ".join(capfd.readouterr().err.split())
    assert "train.csv has no column 'body'; its columns are: id, text, label." in message
    assert "Traceback" not in message  # the other process stops without a lost connection
    assert not (tmp_path / "out").exists()


def test_a_worker_user_error_is_raised_again_by_the_parent(tmp_path: Path) -> None:
    report = {"type": "DataError", "message": "train.csv has no column 'text'.", "hint": "Fix it."}
    (tmp_path / "error-1.json").write_text(json.dumps({**report, "message": "second"}))
    (tmp_path / "error-0.json").write_text(json.dumps(report))
    with pytest.raises(DataError, match=r"^train.csv has no column 'text'. Fix it.$"):
        _outcome(tmp_path, {})


def test_a_worker_that_crashed_without_a_report_fails_the_run(tmp_path: Path) -> None:
    class Failure:
        exitcode = -9

    with pytest.raises(TrainingFailed, match=r"process 1 ended \(exit code -9\)") as caught:
        _outcome(tmp_path, {1: Failure()})
    assert caught.value.exit_code == 1


def test_the_worker_runs_by_hand_in_one_process(
    recipe: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    handler = signal.getsignal(signal.SIGINT)
    try:
        bundle = tmp_path / "by-hand"
        assert (
            main([str(path), "--quiet", "--set", "train.epochs=1", "--set", f"output={bundle}"])
            == 0
        )
        assert f"bundle: {bundle}" in capsys.readouterr().out
        assert main([str(path), "--quiet", "--set", "train.epochz=1"]) == 2
        assert "unknown key 'train.epochz'" in capsys.readouterr().err
    finally:
        signal.signal(signal.SIGINT, handler)
