"""Recipe parsing, overrides and the resolved form saved in bundles."""

from __future__ import annotations

from pathlib import Path

import pytest

from bizlm.errors import RecipeError
from bizlm.recipe import load_recipe

BASE = {"data": {"catalog": "airline-tweets"}}


def test_defaults_are_filled_in_and_output_follows_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "airline.yaml"
    path.write_text("data:\n  catalog: airline-tweets\nmethod: lora\n")
    recipe = load_recipe(path)
    resolved = recipe.resolved()
    assert resolved["output"] == "runs/airline"
    assert resolved["method"] == {**resolved["method"], "name": "lora", "r": 8, "alpha": 16.0}
    assert resolved["train"]["early_stopping_metric"] == "auto"


def test_set_overrides_parse_values_as_yaml() -> None:
    recipe = load_recipe(
        BASE,
        [
            "train.epochs=2",
            "method=lora",
            "method.r=4",
            "method.target_modules=[query, key]",
            "task.labels=[a, b]",
        ],
    )
    assert recipe.train.epochs == 2
    assert recipe.method.r == 4
    assert recipe.method.target_modules == ["query", "key"]
    assert recipe.task.labels == ["a", "b"]


@pytest.mark.parametrize(
    ("raw", "overrides", "fragment"),
    [
        (BASE, ["train.epochs"], "has no '='"),
        (BASE, ["method=qlora"], "Unknown method 'qlora'"),
        (BASE, ["method.r=4"], "unknown key 'method.r'"),
        ({"data": {}}, [], "give exactly one of data.catalog or data.train"),
        (BASE, ["data.split.train=0.5"], "must sum to 1"),
        (BASE, ["task.labels=[]"], "at least one label"),
        (BASE, ["mdoel=default"], "Did you mean 'model'?"),
        (BASE, ["train.padding=auto"], "'longest' or 'max_length'"),
    ],
)
def test_bad_recipes_name_the_key_and_the_problem(raw, overrides, fragment) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe(raw, overrides)
    assert fragment in str(caught.value)


def test_recipe_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(RecipeError, match=r"broken\.yaml line 2 is not valid YAML"):
        load_recipe(broken)
