"""Every bad input named for the foundation gets a one-line error and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bizlm.cli import run
from tests.conftest import make_rows, write_csv


def write_recipe(tmp_path: Path, recipe: dict) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> str:
    code = run(argv)
    message = capsys.readouterr().err
    assert code == 2, message
    assert "Traceback" not in message
    flat = " ".join(message.split())
    for fragment in fragments:
        assert fragment in flat, f"{fragment!r} not in {flat!r}"
    return flat


def test_unknown_recipe_key_suggests_the_nearest(tmp_path, capsys, tiny_recipe) -> None:
    tiny_recipe["train"]["epoch"] = 2
    fails_with(
        capsys,
        ["train", str(write_recipe(tmp_path, tiny_recipe))],
        "unknown key 'train.epoch'",
        "Did you mean 'train.epochs'?",
    )


def test_wrong_type_and_out_of_range_values(tmp_path, capsys, tiny_recipe) -> None:
    path = write_recipe(tmp_path, tiny_recipe)
    fails_with(
        capsys,
        ["train", str(path), "--set", "train.batch_size=many"],
        "'train.batch_size'",
        "'many'",
        "integer",
    )
    fails_with(
        capsys,
        ["train", str(path), "--set", "train.learning_rate=-1"],
        "'train.learning_rate'",
        "greater than 0",
    )


def test_data_file_that_does_not_exist(tmp_path, capsys, tiny_recipe) -> None:
    tiny_recipe["data"]["train"] = str(tmp_path / "nope.csv")
    fails_with(
        capsys, ["train", str(write_recipe(tmp_path, tiny_recipe))], "nope.csv", "does not exist"
    )


def test_missing_text_column_lists_the_columns(tmp_path, capsys, tiny_recipe) -> None:
    tiny_recipe["task"] = {"text_column": "body"}
    fails_with(
        capsys,
        ["train", str(write_recipe(tmp_path, tiny_recipe))],
        "no column 'body'",
        "id, text, label",
    )


def test_empty_file(tmp_path, capsys, tiny_recipe) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    tiny_recipe["data"]["train"] = str(empty)
    fails_with(capsys, ["train", str(write_recipe(tmp_path, tiny_recipe))], "empty.csv", "no rows")


def test_file_that_is_not_utf8_names_the_line_and_offers_encoding(
    tmp_path, capsys, tiny_recipe
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ngood,positive\ncaf\xe9 bad,negative\n".encode("latin-1"))
    tiny_recipe["data"]["train"] = str(latin)
    fails_with(
        capsys,
        ["train", str(write_recipe(tmp_path, tiny_recipe))],
        "latin.csv line 3",
        "--encoding cp1252",
        "data.encoding: cp1252",
    )


def test_malformed_jsonl_line_is_named(tmp_path, capsys, tiny_recipe) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "good", "label": "positive"}\n{"text": "bad", "label": \n')
    tiny_recipe["data"]["train"] = str(bad)
    fails_with(
        capsys,
        ["train", str(write_recipe(tmp_path, tiny_recipe))],
        "bad.jsonl line 2",
        "not valid JSON",
    )


def test_label_in_test_that_never_appears_in_train(tmp_path, capsys, tiny_recipe) -> None:
    rows = make_rows(30, seed=2, labels=("positive", "negative"))
    test_rows = make_rows(6, seed=3, labels=("positive", "neutral"))
    tiny_recipe["data"].update(
        train=str(write_csv(tmp_path / "tr.csv", rows)),
        test=str(write_csv(tmp_path / "te.csv", test_rows)),
    )
    fails_with(
        capsys,
        ["train", str(write_recipe(tmp_path, tiny_recipe))],
        "Label 'neutral'",
        "never appears in the training data",
    )


def test_unknown_catalog_name(capsys) -> None:
    fails_with(capsys, ["data", "get", "bbc"], "Unknown dataset 'bbc'", "bbc-news")


def test_unknown_model_reference(tmp_path, capsys, tiny_recipe, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tiny_recipe["model"] = "no-such-org/no-such-model"
    fails_with(
        capsys,
        ["train", str(write_recipe(tmp_path, tiny_recipe))],
        "Unknown model reference 'no-such-org/no-such-model'",
        "local model folder",
    )
    tiny_recipe["model"] = str(tmp_path / "missing-dir")
    fails_with(
        capsys, ["train", str(write_recipe(tmp_path, tiny_recipe))], "missing-dir", "does not exist"
    )


def test_bundle_directory_that_is_not_a_bundle(tmp_path, capsys) -> None:
    fails_with(capsys, ["predict", str(tmp_path), "hello"], "is not a bizlm bundle")
    fails_with(capsys, ["evaluate", str(tmp_path / "gone"), "--data", "x.csv"], "does not exist")


def test_predict_needs_texts_or_an_input_file(tmp_path, capsys) -> None:
    fails_with(capsys, ["predict", str(tmp_path)], "Give texts as arguments or --input FILE")


def test_option_out_of_range_is_a_usage_error_not_a_traceback(capsys) -> None:
    fails_with(capsys, ["predict", "runs/none", "hello", "--batch-size", "0"], "--batch-size")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_recipe_saved_with_a_byte_order_mark_is_read(
    tmp_path, capsys, tiny_recipe, codec: str
) -> None:
    tiny_recipe["train"]["epoch"] = 2
    path = tmp_path / "recipe.yaml"
    bom = b"\xfe\xff" if codec == "utf-16-be" else b""
    path.write_bytes(bom + yaml.safe_dump(tiny_recipe).encode(codec))
    fails_with(capsys, ["train", str(path)], "unknown key 'train.epoch'")


def test_recipe_that_is_not_utf8_names_the_line(tmp_path, capsys, tiny_recipe) -> None:
    path = write_recipe(tmp_path, tiny_recipe)
    path.write_bytes(path.read_bytes() + "# caf\xe9\n".encode("cp1252"))
    fails_with(
        capsys, ["train", str(path)], "recipe.yaml line", "not valid utf-8 (byte 0xe9)", "UTF-8"
    )


@pytest.mark.parametrize(
    ("override", "shown", "problem"),
    [
        ("train.epochs=\x00", "train.epochs=\\x00", "control character U+0000"),
        ("task.text_column=a\x1b", "task.text_column=a\\x1b", "control character U+001B"),
        ("task.text_column=\udcff", "task.text_column=\\xff", "byte 0xff that is not valid"),
    ],
)
def test_override_with_control_characters_or_bad_bytes(
    tmp_path, capsys, tiny_recipe, override: str, shown: str, problem: str
) -> None:
    path = write_recipe(tmp_path, tiny_recipe)
    fails_with(capsys, ["train", str(path), "--set", override], f"'{shown}'", problem)


def test_override_whose_value_is_not_yaml(tmp_path, capsys, tiny_recipe) -> None:
    path = write_recipe(tmp_path, tiny_recipe)
    fails_with(
        capsys,
        ["train", str(path), "--set", "train.epochs=[1,"],
        "'train.epochs=[1,'",
        "not valid YAML",
        "a list is written [a, b]",
    )
