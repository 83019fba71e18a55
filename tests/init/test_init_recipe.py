"""`bizlm init recipe`: columns, task, labels, language and lengths read off a data file."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

import bizlm.init.plan as plan_module
from bizlm.cli import run
from bizlm.recipe import load_recipe
from tests.conftest import FILLER, WORDS, make_rows, write_csv


def init(tmp_path: Path, data: Path, *options: str) -> tuple[dict[str, Any], str]:
    """Run `bizlm init recipe` on ``data``; return the written YAML (parsed) and its text."""
    output = tmp_path / "recipe.yaml"
    code = run(["init", "recipe", "--data", str(data), "--output", str(output), *options])
    assert code == 0
    text = output.read_text(encoding="utf-8")
    return yaml.safe_load(text), text


def comments(text: str) -> str:
    """Every comment of a YAML text, joined into one line (long ones are wrapped)."""
    return " ".join(line.split("# ", 1)[1] for line in text.splitlines() if "# " in line)


def fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> None:
    code = run(argv)
    message = " ".join(capsys.readouterr().err.split())
    assert code == 2, message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return path


def sentence(rng: random.Random, words: int) -> str:
    pool = [w for group in WORDS.values() for w in group] + FILLER
    return " ".join(rng.choice(pool) for _ in range(words))


def test_short_classify_file_gives_a_recipe_that_loads(tmp_path: Path, capsys) -> None:
    data = write_csv(tmp_path / "tickets.csv", make_rows(90, seed=1))
    raw, text = init(tmp_path, data)
    printed = capsys.readouterr().out
    assert raw["model"] == "default"
    assert raw["task"] == {"type": "classify", "text_column": "text", "label_column": "label"}
    assert raw["data"] == {"train": str(data)}
    assert raw["method"] == {"name": "lora"}
    assert raw["train"] == {"max_length": 32}
    assert raw["output"] == "runs/tickets"
    assert "learning_rate" in comments(text) and "learning_rate" not in raw["train"]
    lines = text.splitlines()
    for before, line in itertools.pairwise(lines):
        if not line.lstrip().startswith("#") and not line.endswith(":"):  # a key and its value
            assert "  # " in line or before.lstrip().startswith("# "), line
    assert "labels (3): " in comments(text) and "positive 30" in comments(text)
    recipe = load_recipe(tmp_path / "recipe.yaml")
    assert recipe.task.label_column == "label" and recipe.method.name == "lora"
    assert recipe.train.max_length == 32
    assert "task.text_column: text — a usual name for a text column" in printed
    assert "0% will be cut" in printed


def test_odd_column_names_are_found(tmp_path: Path) -> None:
    rows = [
        {"Ticket ID": i, "Ticket Body": row["text"], "Queue Category": row["label"]}
        for i, row in enumerate(make_rows(60, seed=2))
    ]
    raw, _ = init(tmp_path, write_csv(tmp_path / "odd.csv", rows))
    assert raw["task"]["text_column"] == "Ticket Body"
    assert raw["task"]["label_column"] == "Queue Category"
    anonymous = [
        {"n": i, "col_a": row["text"], "col_b": row["label"], "flag": "x" if i % 2 else "y"}
        for i, row in enumerate(make_rows(60, seed=3))
    ]
    raw, text = init(tmp_path, write_csv(tmp_path / "anon.csv", anonymous), "--force")
    assert raw["task"]["text_column"] == "col_a"
    assert raw["task"]["label_column"] == "flag"  # 2 distinct values beat col_b's 3
    assert "few distinct values (2) for its 60 rows" in comments(text)


def test_given_columns_and_a_text_pair(tmp_path: Path) -> None:
    rng = random.Random(4)
    rows = [
        {"sentence1": sentence(rng, 6), "sentence2": sentence(rng, 6), "gold": i % 2}
        for i in range(40)
    ]
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    raw, _ = init(tmp_path, data, "--label-column", "gold")
    assert raw["task"]["text_column"] == "sentence1"
    assert raw["task"]["text_pair_column"] == "sentence2"
    assert raw["task"]["label_column"] == "gold"
    assert raw["task"]["type"] == "classify"


def test_chinese_texts_choose_the_multilingual_model(tmp_path: Path, monkeypatch) -> None:
    asked: list[str] = []
    default_tokenizer = plan_module.load_tokenizer("default")

    def load(model: str) -> Any:  # the multilingual model is converted on first use: too slow
        asked.append(model)
        return default_tokenizer

    monkeypatch.setattr(plan_module, "load_tokenizer", load)
    chars = "我的航班被取消了请帮我退款这家餐厅服务很好但是价格有点贵"
    rng = random.Random(5)
    rows = [
        {"内容": "".join(rng.sample(chars, 12)), "类别": "退款" if i % 2 else "投诉"}
        for i in range(40)
    ]
    raw, text = init(tmp_path, write_jsonl(tmp_path / "zh.jsonl", rows))
    assert raw["model"] == "multilingual"
    assert asked == ["multilingual"]
    assert raw["task"]["text_column"] == "内容" and raw["task"]["label_column"] == "类别"
    assert "Chinese (100% of letters are Han)" in comments(text)


def test_long_texts_get_head_tail_and_the_largest_max_length(tmp_path: Path, capsys) -> None:
    rng = random.Random(6)
    rows = [{"review": sentence(rng, rng.randint(300, 500)), "stars": i % 2} for i in range(30)]
    raw, text = init(tmp_path, write_jsonl(tmp_path / "long.jsonl", rows))
    assert raw["train"]["max_length"] == 256
    assert raw["task"]["long_inputs"] == "head_tail"
    assert "100% of texts exceed 256 tokens: keep start and end" in comments(text)
    assert "100% will be cut" in capsys.readouterr().out
    assert load_recipe(tmp_path / "recipe.yaml").task.long_inputs == "head_tail"


def test_max_length_is_the_90th_percentile_rounded_up(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows = [{"text": sentence(rng, 50), "label": "ab"[i % 2]} for i in range(20)]
    raw, text = init(tmp_path, write_jsonl(tmp_path / "mid.jsonl", rows))
    assert raw["train"]["max_length"] == 64  # 50 words + [CLS] and [SEP]: 52 tokens
    assert "long_inputs" not in raw["task"]
    assert "90% of 20 texts ≤ 52 tokens (default tokenizer); 0% will be cut" in comments(text)


def test_numeric_labels_with_many_values_are_a_score(tmp_path: Path) -> None:
    rng = random.Random(8)
    rows = [{"text": sentence(rng, 8), "rating": round(rng.uniform(0, 5), 2)} for _ in range(50)]
    raw, text = init(tmp_path, write_csv(tmp_path / "scores.csv", rows))
    assert raw["task"]["type"] == "score" and raw["task"]["label_column"] == "rating"
    assert "multi_label" not in raw["task"]
    assert "scores from" in comments(text)
    few = [{"text": sentence(rng, 8), "rating": i % 3} for i in range(30)]
    raw, _ = init(tmp_path, write_csv(tmp_path / "classes.csv", few), "--force")
    assert raw["task"]["type"] == "classify"


def test_several_labels_per_text_are_multi_label(tmp_path: Path) -> None:
    rng = random.Random(9)
    piped = [{"text": sentence(rng, 8), "topics": ["a|b", "a", "b"][i % 3]} for i in range(30)]
    raw, text = init(tmp_path, write_csv(tmp_path / "piped.csv", piped))
    assert raw["task"]["multi_label"] is True and raw["task"]["type"] == "classify"
    assert "labels (2): " in comments(text)
    lists = [{"text": sentence(rng, 8), "labels": [["x"], ["x", "y"]][i % 2]} for i in range(20)]
    raw, _ = init(tmp_path, write_jsonl(tmp_path / "lists.jsonl", lists), "--force")
    assert raw["task"]["multi_label"] is True


def test_imbalance_and_rare_labels_are_noted(tmp_path: Path) -> None:
    rows = make_rows(80, seed=10, labels=("positive", "negative"))
    rows += [{"id": "x", "text": "slow bag", "label": "neutral"}] * 2
    _, text = init(tmp_path, write_csv(tmp_path / "skewed.csv", rows))
    assert "imbalanced: 'neutral' has 2 examples" in comments(text)
    assert "class weighting is applied by default for imbalanced data" in comments(text)
    assert "too rare for all 3 splits, kept for training: 'neutral' (2)" in comments(text)


def test_conll_file_is_a_tagging_task(tmp_path: Path) -> None:
    data = tmp_path / "ner.conll"
    data.write_text("John\tB-PER\nflew\tO\nto\tO\nParis\tB-LOC\n\nAcme\tB-ORG\nCorp\tI-ORG\n")
    raw, text = init(tmp_path, data)
    assert raw["task"] == {"type": "tag"}
    assert "entity types (3): PER 1, LOC 1, ORG 1" in comments(text)
    assert load_recipe(tmp_path / "recipe.yaml").task.type == "tag"


def test_an_existing_recipe_is_not_overwritten(tmp_path: Path, capsys) -> None:
    data = write_csv(tmp_path / "train.csv", make_rows(30, seed=11))
    output = tmp_path / "recipe.yaml"
    output.write_text("mine\n", encoding="utf-8")
    argv = ["init", "recipe", "--data", str(data), "--output", str(output)]
    fails_with(capsys, argv, "recipe.yaml already exists", "--force")
    assert output.read_text(encoding="utf-8") == "mine\n"
    assert run([*argv, "--force"]) == 0
    assert yaml.safe_load(output.read_text(encoding="utf-8"))["task"]["type"] == "classify"


@pytest.mark.parametrize(
    ("rows", "options", "fragments"),
    [
        (None, [], ["does not exist", "Check the path"]),
        (
            [{"a": i, "b": i * 2} for i in range(20)],
            [],
            ["has no column of texts", "its columns are: a, b", "--text-column"],
        ),
        (
            [{"id": i, "text": f"text number {i}"} for i in range(20)],
            [],
            ["has no label column", "its columns are: id, text", "--label-column"],
        ),
        (
            [{"text": f"text number {i}", "label": "spam"} for i in range(20)],
            [],
            ["Column 'label'", "holds one label, 'spam', in all 20 rows", "--label-column"],
        ),
        (
            make_rows(20, seed=12),
            ["--task", "clasify"],
            ["Unknown task 'clasify'", "Did you mean 'classify'?", "classify, tag or score"],
        ),
        (
            make_rows(20, seed=12),
            ["--text-column", "Text"],
            ["has no column 'Text'", "Did you mean 'text'?", "--text-column"],
        ),
        (
            make_rows(20, seed=12),
            ["--label-column", "lable"],
            ["has no column 'lable'", "Did you mean 'label'?", "--label-column"],
        ),
        (
            make_rows(20, seed=12),
            ["--task", "score"],
            ["holds 'positive', not a number", "--task classify"],
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys, rows: list[dict] | None, options: list[str], fragments: list[str]
) -> None:
    data = tmp_path / "data.csv"
    if rows is not None:
        write_csv(data, rows)
    output = tmp_path / "recipe.yaml"
    argv = ["init", "recipe", "--data", str(data), "--output", str(output), *options]
    fails_with(capsys, argv, *fragments)
    assert not output.exists()
