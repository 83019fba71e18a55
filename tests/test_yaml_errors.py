"""Every YAML file (recipe, support desk settings, risk.yaml, recommender recipe) reports an
unknown key or a wrong type the same way: exit code 2, the file, the key path and what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bizlm.apps.risk.config import RiskError, RiskFolder
from bizlm.apps.support.scaffold import init_project
from bizlm.cli import run

RECOMMEND_DATA = {"interactions": "data/events.csv", "items": "data/items.csv"}


def recipe_file(tmp_path: Path, raw: dict[str, Any]) -> tuple[Path, list[str]]:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"data": {"train": "train.csv"}, **raw}))
    return path, ["train", str(path)]


def support_file(tmp_path: Path, raw: dict[str, Any]) -> tuple[Path, list[str]]:
    init_project(tmp_path / "desk")
    path = tmp_path / "desk" / "support.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, ["app", "support", "train", str(tmp_path / "desk")]


def risk_file(tmp_path: Path, raw: dict[str, Any]) -> tuple[Path, list[str]]:
    path = tmp_path / "risk.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, ["app", "risk", "train", str(tmp_path)]


def recommend_file(tmp_path: Path, raw: dict[str, Any]) -> tuple[Path, list[str]]:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, ["app", "recommend", "train", str(tmp_path)]


FileMaker = Callable[[Path, dict[str, Any]], tuple[Path, list[str]]]
CASES: list[tuple[FileMaker, dict[str, Any], list[str]]] = [
    (
        recipe_file,
        {"train": {"epoch": 2}},
        ["unknown key 'train.epoch'", "Did you mean 'train.epochs'?", "Valid keys here:"],
    ),
    (
        recipe_file,
        {"train": {"epochs": "many"}},
        ["bad value for 'train.epochs' (got 'many')", "valid integer"],
    ),
    (
        support_file,
        {"faq": {"top_kk": 3}},
        ["unknown key 'faq.top_kk'", "Did you mean 'faq.top_k'?", "rrf_k"],
    ),
    (
        support_file,
        {"max_message_chars": "lots"},
        ["bad value for 'max_message_chars' (got 'lots')", "valid integer"],
    ),
    (
        risk_file,
        {"windw": "1h"},
        ["unknown key 'windw'", "Did you mean 'window'?", "Valid keys here:"],
    ),
    (
        risk_file,
        {"batch_size": [64]},
        ["bad value for 'batch_size' (got [64])", "valid integer"],
    ),
    (
        recommend_file,
        {"data": {**RECOMMEND_DATA, "user_colum": "user"}},
        ["unknown key 'data.user_colum'", "Did you mean 'data.user_column'?", "item_column"],
    ),
    (
        recommend_file,
        {"data": RECOMMEND_DATA, "sampling": {"seed": "abc"}},
        ["bad value for 'sampling.seed' (got 'abc')", "valid integer"],
    ),
]


@pytest.mark.parametrize(
    ("make", "raw", "fragments"),
    CASES,
    ids=[f"{make.__name__}-{'-'.join(map(str, raw))}" for make, raw, _ in CASES],
)
def test_a_bad_key_or_value_exits_2_naming_the_file_and_the_key(
    tmp_path: Path, capsys, make: FileMaker, raw: dict[str, Any], fragments: list[str]
) -> None:
    path, argv = make(tmp_path, raw)
    assert run(argv) == 2
    words = capsys.readouterr().err.split()
    error = " ".join(words)
    assert f"error:{path}:" in "".join(words)  # a long path may be folded across lines
    for fragment in fragments:
        assert fragment in error
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"earliest_time": [1]}, "bad value for 'earliest_time' (got [1])"),
        ({"webhooks": [{"url": "https://x", "timout_s": 1}]}, "unknown key 'webhooks.0.timout_s'"),
        ({"webhooks": [{"timeout_s": 1}]}, "missing required key 'webhooks.0.url'. Add it"),
    ],
)
def test_nested_and_union_keys_are_named_as_written(
    tmp_path: Path, raw: dict[str, Any], message: str
) -> None:
    (tmp_path / "risk.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(RiskError) as caught:
        RiskFolder.open(tmp_path)
    assert f"{tmp_path / 'risk.yaml'}: {message}" in str(caught.value)


def test_a_method_option_names_the_method_and_its_options(tmp_path: Path, capsys) -> None:
    _, argv = recipe_file(tmp_path, {"method": {"name": "lora", "rnak": 4}})
    assert run(argv) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "unknown key 'method.rnak': method 'lora' does not take option 'rnak'." in error
    assert "Its options: name," in error
