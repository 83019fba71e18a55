"""``bizlm compare`` on the tiny model: a leaderboard, failures reported, bad names refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bizlm.cli import run
from bizlm.compare.leaderboard import label_sides, mark_pareto
from bizlm.errors import RecipeError
from bizlm.methods import check_task, method_class


def test_leaderboard_reports_each_method_and_keeps_going_after_a_failure(
    tiny_recipe: dict, tmp_path: Path, capsys
) -> None:
    tiny_recipe["train"]["epochs"] = 1
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    code = run(
        [
            "compare",
            str(recipe),
            "--methods",
            "full,lora",
            "--set",
            "method.r=2",
            "--output",
            str(tmp_path / "board"),
            "--json",
        ]
    )
    assert code == 0
    board = json.loads(capsys.readouterr().out)
    rows = {row["method"]: row for row in board["rows"]}
    assert "unknown key 'method.r'" in rows["full"]["errors"][0]  # full takes no rank
    lora = rows["lora"]
    assert 0 <= lora["macro_f1"] <= 1 and lora["trainable_parameters"] > 0
    assert lora["score"] == lora["macro_f1"] and lora["score_name"] == "macro_f1"
    assert lora["artifact"] == "adapter" and lora["artifact_bytes"] < lora["bundle_bytes"]
    assert lora["p50_latency_ms"] > 0 and lora["peak_rss_mb"] > 0
    for name in ("leaderboard.md", "leaderboard.json", "leaderboard.png"):
        assert (tmp_path / "board" / name).is_file()
    assert "failed" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_unknown_method_is_refused_before_training(
    tiny_recipe: dict, tmp_path: Path, capsys
) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    assert run(["compare", str(recipe), "--methods", "lora,lorra"]) == 2
    message = capsys.readouterr().err
    assert "Unknown method 'lorra'" in message and "Known methods:" in message


def test_pareto_marks_only_undominated_methods() -> None:
    rows = [
        {"method": "a", "score": 0.9, "trainable_parameters": 100},
        {"method": "b", "score": 0.8, "trainable_parameters": 10},
        {"method": "c", "score": 0.7, "trainable_parameters": 50},
        {"method": "d", "errors": ["boom"]},
    ]
    mark_pareto(rows)
    assert [r["pareto"] for r in rows] == [True, True, False, False]


def test_method_option_it_does_not_take_is_named(tiny_recipe: dict) -> None:
    from bizlm.recipe import load_recipe

    with pytest.raises(RecipeError, match="method 'lora' does not take option 'rank'"):
        load_recipe(tiny_recipe, ["method=lora", "method.rank=4"])


def test_method_that_does_not_support_a_task_says_which_do() -> None:
    with pytest.raises(RecipeError, match="does not support task type 'tag'") as caught:
        check_task(method_class("prompt"), "tag")
    assert "lora" in str(caught.value) and "prompt" not in str(caught.value).split("do:")[1]


def test_target_modules_that_match_nothing_list_the_real_ones(tiny_recipe: dict) -> None:
    import bizlm

    tiny_recipe["method"] = {"name": "lora", "target_modules": ["q_proj"]}
    with pytest.raises(RecipeError, match="'q_proj' matches no module") as caught:
        bizlm.train(tiny_recipe)
    assert "query" in str(caught.value)


def test_compare_ranks_a_tagging_recipe_by_entity_f1(tiny_model_dir: Path, tmp_path: Path) -> None:
    from bizlm.compare.run import compare
    from tests.tasks.conftest import tag_config

    recipe = tmp_path / "tag.yaml"
    recipe.write_text(yaml.safe_dump(tag_config(tiny_model_dir, tmp_path, sentences=60, epochs=1)))
    board = compare(str(recipe), ["head", "lora"], 1, tmp_path / "board")
    assert {row["score_name"] for row in board["rows"]} == {"f1"}
    assert all("accuracy" not in row and 0 <= row["score"] <= 1 for row in board["rows"])
    assert "| method | entity F1 |" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_a_label_moves_left_of_a_close_neighbour_only() -> None:
    # bitfit and lora sit 0.1 decade and 0.04 points apart; head is close in x but far in score;
    # a method that trains nothing has no place on the log axis and keeps the default side.
    points = [(175_493, 97.55), (223_493, 97.59), (22_715_141, 98.27), (149_765, 90.94), (0, 91.0)]
    assert label_sides(points) == ["left", "right", "right", "right", "right"]
