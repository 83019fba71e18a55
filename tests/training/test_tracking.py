"""Tracking: TensorBoard scalars, the MLflow store, the fallback when a server is down, `runs`."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

import bizlm
from bizlm.cli import run
from bizlm.cli import runs as runs_command
from bizlm.errors import RecipeError
from bizlm.recipe import load_recipe
from bizlm.sections.track import TrackConfig
from bizlm.training.mlflow_tracking import MlflowTracker, local_store
from bizlm.training.tracking import flatten_params, open_tracker
from tests.conftest import make_rows, write_csv

DOCUMENTS = {"bizlm.json", "metrics.json", "report.html", "MODEL_CARD.md"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    """A bizlm home of its own, so the local MLflow store starts empty."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("home")
        patch.setenv("BIZLM_HOME", str(folder))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield folder


@pytest.fixture(scope="module")
def recipe(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One epoch of the tiny model on 48 examples: logs at batch 1, evaluates at batches 3, 6."""
    folder = tmp_path_factory.mktemp("tracked")
    return {
        "model": str(tiny_model_dir),
        "data": {"train": str(write_csv(folder / "train.csv", make_rows(60, seed=1)))},
        "train": {
            "epochs": 1,
            "batch_size": 8,
            "learning_rate": 5e-3,
            "max_length": 32,
            "evaluations_per_epoch": 2,
        },
        "output": str(folder / "bundle"),
    }


@pytest.fixture(scope="module")
def tracked(home: Path, recipe: dict):
    """One run with TensorBoard and the default (local) MLflow store."""
    track = {"tensorboard": True, "mlflow": True, "run_name": "first"}
    return bizlm.train({**recipe, "track": track})


def local_runs(name: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=local_store())
    experiment = client.get_experiment_by_name(name)
    return client, client.search_runs([experiment.experiment_id])


def test_tensorboard_event_files_hold_the_logged_scalars(tracked, recipe: dict) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(recipe["output"] + ".tb/first")
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/learning_rate", "val/loss", "val/macro_f1"} <= tags
    assert "final/test_macro_f1" in tags
    history = [r for r in tracked.info["training"]["history"] if "val_loss" in r]
    logged = events.Scalars("val/loss")
    assert [e.step for e in logged] == [r["step"] for r in history] == [3, 6]
    assert [e.value for e in logged] == pytest.approx([r["val_loss"] for r in history])
    final = events.Scalars("final/test_macro_f1")[-1].value
    assert final == pytest.approx(tracked.metrics["macro_f1"])
    assert "params/text_summary" in events.Tags()["tensors"]


def test_mlflow_store_holds_params_metrics_and_documents(tracked, recipe: dict) -> None:
    client, runs = local_runs("bundle")  # experiment: the output folder's name
    (found,) = [r for r in runs if r.info.run_name == "first"]
    assert found.info.status == "FINISHED"
    params = found.data.params
    assert params["train.learning_rate"] == "0.005"
    assert params["method.name"] == "full"
    assert params["track.mlflow"] == "True"
    assert params["task.labels"] == "null"
    metrics = found.data.metrics
    assert metrics["final_test_macro_f1"] == pytest.approx(tracked.metrics["macro_f1"])
    assert metrics["final_validation_accuracy"] == pytest.approx(
        tracked.metrics["validation"]["accuracy"]
    )
    steps = [m.step for m in client.get_metric_history(found.info.run_id, "val_macro_f1")]
    assert steps == [3, 6]
    losses = client.get_metric_history(found.info.run_id, "train_loss")
    assert [m.step for m in losses] == [1]
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert artifacts == DOCUMENTS  # no weights unless track.log_model
    store = Path(local_store().removeprefix("sqlite:///"))
    assert found.info.artifact_uri.startswith((store.parent / "artifacts").as_uri())


def test_unreachable_server_falls_back_to_the_local_store(
    home: Path, recipe: dict, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)  # the tracker's defaults are undone afterwards
    track = {
        "mlflow": True,
        "mlflow_uri": "http://127.0.0.1:9",
        "experiment": "down",
        "run_name": "fallback",
        "log_model": True,
    }
    output = str(Path(recipe["output"]).with_name("fallback"))
    with caplog.at_level(logging.WARNING, logger="bizlm"):
        result = bizlm.train({**recipe, "track": track, "output": output})
    assert (Path(output) / "model").is_dir()
    messages = [r.getMessage() for r in caplog.records if r.name == "bizlm"]
    warnings = [m for m in messages if "MLflow" in m]  # the one-epoch run may also be warned
    assert len(warnings) == 1
    assert "http://127.0.0.1:9 cannot be reached" in warnings[0]
    assert "local store" in warnings[0]
    client, (found,) = local_runs("down")
    assert found.info.run_name == "fallback" and found.info.status == "FINISHED"
    assert found.data.params["track.mlflow_uri"] == "http://127.0.0.1:9"
    assert found.data.metrics["final_test_macro_f1"] == pytest.approx(result.metrics["macro_f1"])
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert artifacts == DOCUMENTS | {"model"}


class Broken:
    """A client whose server went away."""

    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise ConnectionError("server went away")

        return fail


def test_a_store_that_fails_mid_run_is_replayed_into_the_local_store(
    tracked, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copy(local_store().removeprefix("sqlite:///"), tmp_path / "remote.db")  # migrated
    remote = f"sqlite:///{tmp_path / 'remote.db'}"
    tracker = MlflowTracker(remote, "midway", "run", {})
    tracker.log_params({"train.epochs": 2})
    tracker.log_metrics(1, {"train_loss": 0.9})
    tracker.client = Broken()
    with caplog.at_level(logging.WARNING, logger="bizlm"):
        tracker.log_metrics(2, {"train_loss": 0.5})
        tracker.log_metrics(3, {"train_loss": 0.4})
        tracker.close()
    assert len([r for r in caplog.records if r.name == "bizlm"]) == 1
    client, (found,) = local_runs("midway")
    assert found.data.params == {"train.epochs": "2"}
    history = client.get_metric_history(found.info.run_id, "train_loss")
    assert [(m.step, m.value) for m in history] == [(1, 0.9), (2, 0.5), (3, 0.4)]
    assert found.info.status == "FINISHED"


def test_runs_list_and_show(
    tracked, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_command.out, "width", 160)
    assert run(["runs", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    (row,) = [r for r in rows if r["name"] == "first"]
    assert row["experiment"] == "bundle" and row["status"] == "FINISHED"
    assert row["final_metrics"]["test_macro_f1"] == pytest.approx(tracked.metrics["macro_f1"])
    assert run(["runs", "list", "--experiment", "bundle"]) == 0
    table = capsys.readouterr().out
    assert row["run_id"] in table and "test_macro_f1" in table
    assert run(["runs", "show", row["run_id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["params"]["train.epochs"] == "1"
    assert set(shown["artifacts"]) == DOCUMENTS
    assert shown["metrics"]["val_macro_f1"] == pytest.approx(
        tracked.info["training"]["history"][-1]["val_macro_f1"]
    )
    assert run(["runs", "show", row["run_id"]]) == 0
    assert "train.learning_rate" in capsys.readouterr().out


def test_runs_commands_explain_bad_input(
    tracked, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert run(["runs", "show", "0123456789abcdef"]) == 2
    assert "No run '0123456789abcdef' in the MLflow store" in capsys.readouterr().err
    assert run(["runs", "list", "--experiment", "nope"]) == 2
    assert "No experiment 'nope'" in capsys.readouterr().err
    assert run(["runs", "list", "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err
    empty = f"sqlite:///{tmp_path / 'none.db'}"
    assert run(["runs", "list", "--uri", empty]) == 0
    assert "No tracked runs yet" in capsys.readouterr().out
    assert run(["runs", "show", "abc", "--uri", empty]) == 2
    assert not (tmp_path / "none.db").exists()


def test_tracking_off_logs_nothing_but_still_feeds_observers(tmp_path: Path) -> None:
    seen: list[dict] = []
    tracker = open_tracker({"train": {"epochs": 1}}, TrackConfig(), tmp_path / "out", [seen.append])
    assert tracker.trackers == []
    tracker.on_log({"step": 1, "train_loss": 0.5})
    assert seen == [{"step": 1, "train_loss": 0.5}]
    assert list(tmp_path.iterdir()) == []


def test_flatten_params_names_every_leaf() -> None:
    flat = flatten_params({"train": {"epochs": 2, "seed": None}, "task": {"labels": ["a", "b"]}})
    assert flat == {"train.epochs": 2, "train.seed": "null", "task.labels": '["a", "b"]'}


def test_a_misspelt_track_key_is_named(recipe: dict) -> None:
    with pytest.raises(RecipeError, match=r"unknown key 'track.tensorbord'.*track.tensorboard"):
        load_recipe({**recipe, "track": {"tensorbord": True}})
    with pytest.raises(RecipeError, match=r"'track.experiment'.*at least 1 character"):
        load_recipe({**recipe, "track": {"experiment": ""}})
