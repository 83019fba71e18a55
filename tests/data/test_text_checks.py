"""Checks on bad input before training: the text column, the model's language, rare labels."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bizlm.cli import run
from bizlm.data.splits import rare_labels
from bizlm.data.text_checks import (
    detect_script,
    model_language_warning,
    text_column_problems,
    unknown_share,
)
from bizlm.recipe import load_recipe
from bizlm.training.prepare import prepare_data
from tests.conftest import make_rows, write_csv

CHINESE = ["我的航班被取消了，请帮我退款。", "这家餐厅的服务很好，但是价格有点贵。"] * 5


def test_a_column_of_numbers_or_links_is_reported() -> None:
    texts = ["", " ", "12", "3.5", "-1,200", "https://a.example/x www.b.example", "fine text"]
    # empty: 2 of 7 (29%), under the 30% share; numbers: 3 of 7 (43%); links: 1 of 7
    assert text_column_problems(texts) == [
        "3 of 7 texts (43%) are numbers only; check that task.text_column names the column "
        "that holds the text to learn from."
    ]
    links = text_column_problems(["see https://x.example", "http://y.example", "www.z.example"])
    assert links == [
        "2 of 3 texts (67%) are links (URLs) only; check that task.text_column names the "
        "column that holds the text to learn from."
    ]
    assert text_column_problems(["a real sentence", "another one", "", "42"]) == []
    assert text_column_problems([]) == []


def test_empty_texts_are_reported_from_a_third() -> None:
    assert text_column_problems(["", "text", "more"]) == [
        "1 of 3 texts (33%) are empty; check that task.text_column names the column that "
        "holds the text to learn from."
    ]


@pytest.mark.parametrize(
    ("texts", "script"),
    [
        (CHINESE, "zh"),
        (["我的 flight 被取消了"], "zh"),
        (["The flight was late", "Le vol était en retard"], "latin"),
        (["Рейс задержали на три часа"], "other"),
        (["12 34", "!!"], "latin"),
    ],
)
def test_detect_script(texts: list[str], script: str) -> None:
    assert detect_script(texts) == script


def test_non_latin_texts_on_the_english_model_are_warned_about(tiny_model_dir: Path) -> None:
    warning = model_language_warning("default", CHINESE)
    assert warning is not None
    assert "Chinese" in warning and "model: multilingual" in warning
    assert "non-Latin" in (model_language_warning("default", ["Рейс задержали"]) or "")
    assert model_language_warning("default", ["The flight was late"]) is None
    assert model_language_warning("multilingual", CHINESE) is None
    # the tiny model's word-level vocabulary has no Chinese: every character is unknown
    assert unknown_share(tiny_model_dir, CHINESE) == 1.0
    folder = model_language_warning(str(tiny_model_dir), CHINESE)
    assert folder is not None and "100% of their characters" in folder
    assert "model: multilingual" in folder
    assert model_language_warning(str(tiny_model_dir), ["good flight"]) is None


def _prepare(tmp_path: Path, rows: list[dict], **task) -> dict:
    recipe = load_recipe(
        {
            "model": "default",
            "task": task,
            "data": {"train": str(write_csv(tmp_path / "train.csv", rows))},
        }
    )
    return prepare_data(recipe).summary


def test_training_data_warnings_are_recorded(tmp_path: Path) -> None:
    rows = make_rows(60, seed=1)
    for row in rows[:24]:
        row["text"] = str(len(row["text"]))
    warnings = _prepare(tmp_path, rows)["warnings"]
    assert any(
        "column 'text'" in w and "24 of 60 texts (40%) are numbers only" in w for w in warnings
    )
    chinese = [{"text": text, "label": "ab"[i % 2]} for i, text in enumerate(CHINESE * 3)]
    warnings = _prepare(tmp_path, chinese)["warnings"]
    assert any("The texts are Chinese" in w and "model: multilingual" in w for w in warnings)
    assert "warnings" not in _prepare(tmp_path, make_rows(60, seed=2))


def test_rare_labels() -> None:
    assert rare_labels(["a", "a", "a", "b", "c", "c"], 3) == {"b": 1, "c": 2}
    assert rare_labels([["a", "b"], ["a"], ["a"]], 3) == {"b": 1}
    assert rare_labels(["a", "b"], 1) == {}


def test_a_label_too_rare_for_every_split_stays_in_training(tmp_path: Path) -> None:
    rows = make_rows(60, seed=3, labels=("positive", "negative"))
    rows[6]["label"] = "neutral"  # split at random among all rows, it would land in test
    recipe = load_recipe(
        {"model": "default", "data": {"train": str(write_csv(tmp_path / "train.csv", rows))}}
    )
    prepared = prepare_data(recipe)
    train, validation, test = (prepared.splits[name] for name in ("train", "validation", "test"))
    assert train.targets.count("neutral") == 1
    assert "neutral" not in validation.targets + test.targets
    assert len(train) + len(validation) + len(test) == 60
    assert sorted(train.line_numbers + validation.line_numbers + test.line_numbers) == list(
        range(2, 62)
    )
    assert {"positive", "negative"} <= set(validation.targets)
    assert prepared.labels == ["negative", "neutral", "positive"]
    [warning] = prepared.summary["warnings"]
    assert "fewer examples than the 3 splits" in warning and "'neutral' (1)" in warning
    assert "kept for training" in warning


def test_one_label_is_refused_before_training(tmp_path: Path, capsys, tiny_recipe: dict) -> None:
    only = write_csv(tmp_path / "one.csv", make_rows(30, seed=4, labels=("positive",)))
    tiny_recipe["data"]["train"] = str(only)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe), encoding="utf-8")
    code = run(["train", str(path)])
    message = " ".join(capsys.readouterr().err.split())
    assert code == 2, message
    assert "one.csv: the label column 'label' has only 1 distinct label, 'positive'" in message
    assert "in all 30 rows" in message and "task.label_column" in message
    assert not Path(tiny_recipe["output"]).exists()
