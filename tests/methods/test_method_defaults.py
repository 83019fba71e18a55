"""Method-aware train defaults: keys the recipe leaves out take the method's own values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bizlm.methods import METHODS
from bizlm.recipe import load_recipe

README = Path(__file__).resolve().parents[2] / "README.md"


def _recipe(method: str, train: dict[str, Any] | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"data": {"catalog": "trec"}, "method": method}
    if train is not None:
        raw["train"] = train
    return raw


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_declares_defaults_that_the_recipe_resolves(name: str) -> None:
    defaults = METHODS[name].train_defaults
    assert defaults.learning_rate > 0
    if name == "zeroshot":
        return  # needs method.labels; nothing is trained
    recipe = load_recipe(_recipe(name))
    for key, value in defaults.settings().items():
        assert getattr(recipe.train, key) == value, key


def test_peft_methods_learn_faster_than_full_fine_tuning_by_default() -> None:
    full = load_recipe(_recipe("full")).train.learning_rate
    for name in ("lora", "ia3", "prompt", "adapter", "head"):
        assert load_recipe(_recipe(name)).train.learning_rate >= 10 * full, name


def test_a_rate_given_in_the_recipe_or_an_override_wins() -> None:
    assert load_recipe(_recipe("lora", {"learning_rate": 2e-4})).train.learning_rate == 2e-4
    overridden = load_recipe(_recipe("lora"), ["train.learning_rate=3e-4"])
    assert overridden.train.learning_rate == 3e-4
    # head_learning_rate: null given explicitly is kept, not replaced by freeze's default
    explicit = load_recipe(_recipe("freeze", {"head_learning_rate": None}))
    assert explicit.train.head_learning_rate is None
    assert load_recipe(_recipe("freeze")).train.head_learning_rate == 1e-3


def test_the_resolved_recipe_reloads_to_the_same_values() -> None:
    resolved = load_recipe(_recipe("lora")).resolved()
    assert resolved["train"]["learning_rate"] == METHODS["lora"].train_defaults.learning_rate
    assert load_recipe(resolved).resolved() == resolved
    # a resolved recipe whose method changes later keeps its (now explicit) rate
    assert (
        load_recipe(resolved, ["method=full"]).train.learning_rate
        == resolved["train"]["learning_rate"]
    )


def _annotated_recipe() -> dict[str, Any]:
    """The first YAML block of the README's Recipes section."""
    section = README.read_text(encoding="utf-8").split("## Recipes", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    return yaml.safe_load(block.group(1))


def _leaves(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*prefix, k))]
    return [(prefix, node)]


def test_the_readme_annotated_recipe_shows_the_real_defaults() -> None:
    shown = _annotated_recipe()
    minimal = {"data": {"catalog": shown["data"]["catalog"]}, "method": shown["method"]["name"]}
    resolved = load_recipe(minimal).resolved()
    checked = 0
    for path, value in _leaves(shown):
        if path in {("data", "catalog"), ("output",)}:
            continue  # the example's own choices, not defaults
        actual: Any = resolved
        for key in path:
            actual = actual[key]
        assert actual == value, f"README shows {'.'.join(path)}: {value!r}, default is {actual!r}"
        checked += 1
    assert checked >= 20
