"""Multi-label classification and scoring (regression, pairs, ranking) on a tiny model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import bizlm
from bizlm.cli import run
from bizlm.errors import DataError, RecipeError
from tests.conftest import FILLER, WORDS, write_csv

TRAIN = {
    "epochs": 10,
    "batch_size": 16,
    "learning_rate": 1e-2,
    "max_length": 32,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
}


def tagged_rows(count: int, seed: int) -> list[dict[str, str]]:
    """Texts carrying 'praise' when they hold positive words, 'complaint' for negative ones."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        labels = [x for x, on in (("praise", index % 2), ("complaint", index % 3 == 0)) if on]
        words = rng.sample(FILLER, 3)
        words += rng.sample(WORDS["positive"], 2) if "praise" in labels else []
        words += rng.sample(WORDS["negative"], 2) if "complaint" in labels else []
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": "|".join(labels) or ""})
    return rows


def scored_rows(count: int, seed: int) -> list[dict[str, str]]:
    """(query, item) pairs scored by how many positive words the item shares with the query."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        query = rng.sample(WORDS["positive"], 2)
        shared = index % 3
        item = query[:shared] + rng.sample(WORDS["neutral"], 3 - shared)
        rows.append(
            {
                "text": " ".join(query),
                "item": " ".join(item),
                "relevance": str(shared),
                "user": f"u{index % 20}",
            }
        )
    return rows


def recipe(model: Path, train: Path, output: Path, task: dict) -> dict:
    return {
        "model": str(model),
        "task": task,
        "data": {"train": str(train)},
        "train": TRAIN,
        "output": str(output),
    }


def test_multi_label_trains_tunes_thresholds_and_predicts_label_sets(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    rows = [r | {"label": r["label"] or "none"} for r in tagged_rows(240, seed=1)]
    train = write_csv(tmp_path / "train.csv", rows)
    task = {"multi_label": True, "labels": ["complaint", "none", "praise"]}
    result = bizlm.train(recipe(tiny_model_dir, train, tmp_path / "multi", task))
    assert result.metrics["micro_f1"] > 0.8, result.metrics
    assert {"subset_accuracy", "macro_f1", "hamming_loss"} <= set(result.metrics)
    assert len(result.info["calibration"]["thresholds"]) == 3
    predictor = bizlm.load(result.bundle)
    text = f"the {WORDS['positive'][0]} {WORDS['negative'][0]} was {WORDS['positive'][1]}"
    [prediction] = predictor.predict([text])
    assert set(prediction["labels"]) == {"praise", "complaint"}
    assert set(prediction["probabilities"]) == {"complaint", "none", "praise"}


def test_multi_label_reads_json_lists(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = tagged_rows(120, seed=2)
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"text": r["text"], "label": r["label"].split("|") if r["label"] else []})
            + "\n"
            for r in rows
        )
    )
    config = recipe(tiny_model_dir, train, tmp_path / "m", {"multi_label": True})
    config["train"] = TRAIN | {"epochs": 1}
    result = bizlm.train(config)
    assert result.info["labels"] == ["complaint", "praise"]


def test_multi_label_row_with_an_unknown_label_is_refused(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    rows = tagged_rows(30, seed=3)
    rows[7]["label"] = "praise|refund"
    train = write_csv(tmp_path / "train.csv", rows)
    task = {"multi_label": True, "labels": ["complaint", "praise"]}
    with pytest.raises(DataError, match=r"Label 'refund'.*line 9"):
        bizlm.train(recipe(tiny_model_dir, train, tmp_path / "m", task))


def test_score_with_pairs_and_groups_reports_regression_and_ranking(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    train = write_csv(tmp_path / "pairs.csv", scored_rows(300, seed=4))
    task = {
        "type": "score",
        "text_pair_column": "item",
        "label_column": "relevance",
        "group_column": "user",
    }
    result = bizlm.train(recipe(tiny_model_dir, train, tmp_path / "scorer", task))
    metrics = result.metrics
    assert {"mse", "pearson", "spearman", "ndcg@10", "mrr", "auc"} <= set(metrics)
    assert metrics["spearman"] > 0.5, metrics
    predictor = bizlm.load(result.bundle)
    query = f"{WORDS['positive'][0]} {WORDS['positive'][1]}"
    near, far = predictor.predict([query, query], pairs=[query, " ".join(WORDS["neutral"][:2])])
    assert near["score"] > far["score"]


def test_score_split_keeps_each_group_in_one_split(tiny_model_dir: Path, tmp_path: Path) -> None:
    from bizlm.recipe import load_recipe
    from bizlm.training.prepare import prepare_data

    train = write_csv(tmp_path / "pairs.csv", scored_rows(200, seed=5))
    task = {
        "type": "score",
        "text_pair_column": "item",
        "label_column": "relevance",
        "group_column": "user",
    }
    data = prepare_data(load_recipe(recipe(tiny_model_dir, train, tmp_path / "s", task)))
    groups = {name: set(split.extras["group"]) for name, split in data.splits.items()}
    assert not groups["train"] & groups["test"] and not groups["train"] & groups["validation"]


def test_pair_task_with_an_empty_text_pair_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = scored_rows(30, seed=6)
    rows[4]["item"] = ""
    train = write_csv(tmp_path / "pairs.csv", rows)
    task = {"type": "score", "text_pair_column": "item", "label_column": "relevance"}
    with pytest.raises(DataError, match="line 6: column 'item' is empty"):
        bizlm.train(recipe(tiny_model_dir, train, tmp_path / "s", task))


def test_pair_column_that_does_not_exist_is_named(tiny_model_dir: Path, tmp_path: Path) -> None:
    train = write_csv(tmp_path / "pairs.csv", scored_rows(30, seed=6))
    task = {"type": "score", "text_pair_column": "itme", "label_column": "relevance"}
    with pytest.raises(DataError, match=r"no column 'itme'.*Did you mean 'item'"):
        bizlm.train(recipe(tiny_model_dir, train, tmp_path / "s", task))


def test_score_target_that_is_not_a_number_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = scored_rows(30, seed=7)
    rows[2]["relevance"] = "high"
    train = write_csv(tmp_path / "pairs.csv", rows)
    task = {"type": "score", "text_pair_column": "item", "label_column": "relevance"}
    with pytest.raises(DataError, match=r"line 4.*'high', not a finite number"):
        bizlm.train(recipe(tiny_model_dir, train, tmp_path / "s", task))


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"type": "tag", "multi_label": True}, "multi_label applies to type classify"),
        ({"group_column": "user"}, "group_column applies to type score"),
        ({"type": "tag", "text_pair_column": "b"}, "text_pair_column applies"),
        ({"type": "score", "labels": ["a", "b"]}, "labels do not apply to type score"),
    ],
)
def test_task_options_that_do_not_fit_the_type_are_refused(task: dict, message: str) -> None:
    from bizlm.recipe import load_recipe

    with pytest.raises(RecipeError, match=message):
        load_recipe({"data": {"catalog": "trec"}, "task": task})


def test_long_texts_are_counted_when_cut(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = tagged_rows(60, seed=8)
    rows[0]["text"] = " ".join(["the"] * 100)
    rows[0]["label"] = "praise"
    train = write_csv(tmp_path / "train.csv", rows)
    config = recipe(tiny_model_dir, train, tmp_path / "m", {"multi_label": True})
    config["train"] = TRAIN | {"epochs": 1}
    result = bizlm.train(config)
    warnings = " ".join(result.info["data"]["warnings"])
    assert "longer than train.max_length=32 tokens and are cut" in warnings


def test_cli_predict_with_pairs(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    train = write_csv(tmp_path / "pairs.csv", scored_rows(60, seed=9))
    task = {"type": "score", "text_pair_column": "item", "label_column": "relevance"}
    config = recipe(tiny_model_dir, train, tmp_path / "scorer", task)
    config["train"] = TRAIN | {"epochs": 1}
    bundle = bizlm.train(config).bundle
    assert run(["predict", str(bundle), "good love", "--pair", "good seat", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert isinstance(result["score"], float)
