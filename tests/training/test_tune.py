"""`bizlm tune`: trials, the best recipe, resuming a study, pruning, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from bizlm.cli import run
from bizlm.cli import runs as runs_command
from bizlm.errors import RecipeError
from bizlm.recipe import load_recipe
from bizlm.training.tune import search_ranges, tune
from tests.conftest import make_rows, write_csv


class AlwaysPrune(optuna.pruners.BasePruner):
    """Prunes every trial at its first report."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


@pytest.fixture(scope="module")
def recipe_file(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LoRA on the tiny model, one epoch of 48 examples with two evaluations."""
    folder = tmp_path_factory.mktemp("tune")
    recipe = {
        "model": str(tiny_model_dir),
        "data": {"train": str(write_csv(folder / "train.csv", make_rows(60, seed=1)))},
        "method": {"name": "lora", "r": 4},
        "train": {
            "epochs": 1,
            "batch_size": 8,
            "learning_rate": 5e-3,
            "max_length": 32,
            "evaluations_per_epoch": 2,
        },
        "tune": {"epochs": [1, 2], "r": [2, 4]},
        "output": str(folder / "tuned"),
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_trials_write_the_best_recipe_and_a_rerun_continues_the_study(
    recipe_file: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_command.out, "width", 160)
    result = tune(recipe_file, trials=3)
    output = recipe_file.parent / "tuned"
    assert result.storage == output.with_name("tuned.tune.db").resolve()
    assert [row["number"] for row in result.trials] == [0, 1, 2]
    assert all(row["state"] == "complete" for row in result.trials)
    assert set(result.trials[0]["params"]) == {
        "train.learning_rate",
        "train.epochs",
        "train.warmup_ratio",
        "method.r",
    }
    best = result.best
    assert best is not None and best["value"] == max(row["value"] for row in result.trials)
    assert result.best_recipe == output.with_name("tuned.best.yaml")
    text = result.best_recipe.read_text(encoding="utf-8")
    assert text.startswith("# best of 3 trials of study 'tuned': validation macro_f1")
    written = load_recipe(result.best_recipe)
    assert written.train.learning_rate == pytest.approx(best["params"]["train.learning_rate"])
    assert written.method.r == best["params"]["method.r"]
    assert written.output == output
    kept = sorted(p.name for p in output.with_name("tuned.trials").iterdir())
    assert kept == [f"trial-{best['number']}"]  # only the best trial's bundle stays
    assert best["bundle"].endswith(f"trial-{best['number']}")
    assert (Path(best["bundle"]) / "bizlm.json").is_file()

    assert run(["tune", str(recipe_file), "--trials", "4", "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert [row["number"] for row in resumed["trials"]] == [0, 1, 2, 3]
    assert resumed["trials"][:3] == json.loads(json.dumps(result.trials, default=str))
    assert run(["tune", str(recipe_file), "--trials", "4"]) == 0  # nothing left to run
    shown = capsys.readouterr().out
    assert "best recipe:" in shown and "method.r" in shown


def test_pruned_trials_stop_early_and_stale_trials_are_failed(
    recipe_file: Path, tmp_path: Path
) -> None:
    database = tmp_path / "study.db"
    output = f"output={tmp_path / 'pruned'}"
    stale = optuna.create_study(
        study_name="pruned", storage=f"sqlite:///{database}", direction="maximize"
    )
    stale.ask()  # a trial left running by a search that died
    result = tune(
        recipe_file, trials=2, study_db=database, overrides=[output], pruner=AlwaysPrune()
    )
    assert [row["state"] for row in result.trials] == ["fail", "pruned"]
    assert result.best is None and result.best_recipe is None
    assert not (tmp_path / "pruned.best.yaml").exists()
    study = optuna.load_study(study_name="pruned", storage=f"sqlite:///{database}")
    assert list(study.trials[1].intermediate_values) == [3]  # stopped at the first evaluation
    assert not (tmp_path / "pruned.trials" / "trial-1" / "bizlm.json").exists()


def test_search_ranges_follow_the_recipe_and_its_method(recipe_file: Path) -> None:
    lora = load_recipe(recipe_file)
    assert search_ranges(lora) == {
        "train.learning_rate": (5e-4, 5e-2),
        "train.epochs": (1, 2),
        "train.warmup_ratio": (0.0, 0.2),
        "method.r": [2, 4],
    }
    full = load_recipe(recipe_file, ["method=full", "tune=null", "train.epochs=4"])
    assert search_ranges(full) == {
        "train.learning_rate": (5e-4, 5e-2),
        "train.epochs": (2, 8),
        "train.warmup_ratio": (0.0, 0.2),
    }


def test_bad_search_input_is_explained(
    recipe_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    recipe = str(recipe_file)
    assert run(["tune", recipe, "--trials", "0"]) == 2
    assert "trials must be at least 1" in capsys.readouterr().err
    assert run(["tune", recipe, "--trials", "1", "--timeout", "0"]) == 2
    assert "timeout must be positive" in capsys.readouterr().err
    assert run(["tune", recipe, "--trials", "2", "--set", "tune.learning_rate=[0.1, 0.01]"]) == 2
    assert "'tune.learning_rate'" in capsys.readouterr().err
    with pytest.raises(RecipeError, match="low <= high"):
        load_recipe(recipe_file, ["tune.learning_rate=[0.1, 0.01]"])
    with pytest.raises(RecipeError, match="epochs start at 1"):
        load_recipe(recipe_file, ["tune.epochs=[0, 2]"])
    with pytest.raises(RecipeError, match=r"unknown key 'tune.epoch'.*Did you mean 'tune.epochs'"):
        load_recipe(recipe_file, ["tune.epoch=[1, 2]"])
    with pytest.raises(RecipeError, match="trials must be at least 1"):
        tune(recipe_file, trials=0)
    database = tmp_path / "study.db"
    optuna.create_study(study_name="tuned", storage=f"sqlite:///{database}", direction="maximize")
    with pytest.raises(RecipeError, match=r"made to maximize.*'loss' must be minimized"):
        tune(recipe_file, 1, study_db=database, overrides=["train.early_stopping_metric=loss"])
