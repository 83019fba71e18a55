"""Reading instruction data for task type generate: prompt/response rows, chat messages, and
the clear errors for conversations that cannot be learned from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizlm.errors import BizlmError, DataError, RecipeError
from bizlm.recipe import validate_recipe
from bizlm.task_config import TaskConfig
from bizlm.tasks import build_task


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Write rows as UTF-8 JSON lines."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    return path


def read(path: Path, **task: str) -> tuple:
    summary: dict = {}
    examples = build_task(TaskConfig(type="generate", **task)).read(path, "utf-8", summary)
    return examples, summary


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def test_prompt_response_rows_become_conversations(tmp_path: Path) -> None:
    rows = [
        {"prompt": "say hello", "response": "hello", "system": "be brief"},
        {"prompt": "", "response": ""},
        {"prompt": " ", "response": "orphan answer"},
        {"prompt": "say bye", "response": "bye"},
    ]
    examples, summary = read(write_jsonl(tmp_path / "train.jsonl", rows), system="be kind")
    assert examples.texts == ["say hello", "say bye"]
    assert examples.targets == ["hello", "bye"]
    assert examples.line_numbers == [1, 4]
    assert examples.extras["messages"][0][0] == {"role": "system", "content": "be brief"}
    assert examples.extras["messages"][1][0] == {"role": "system", "content": "be kind"}
    assert summary["files"][str(tmp_path / "train.jsonl")]["kept"] == 2
    assert "Skipped 2 of 4 rows" in summary["warnings"][0]


def test_chat_rows_and_csv_columns(tmp_path: Path) -> None:
    chat = [user("hi"), assistant("hello"), user("bye"), assistant("goodbye")]
    examples, _ = read(write_jsonl(tmp_path / "chat.jsonl", [{"messages": chat}]))
    assert examples.texts == ["bye"] and examples.targets == ["goodbye"]
    assert examples.extras["messages"] == [chat]
    csv = tmp_path / "pairs.csv"
    csv.write_text("question,answer\nwhere is it,here\n", encoding="utf-8")
    examples, _ = read(csv, prompt_column="question", response_column="answer")
    assert examples.extras["messages"] == [[user("where is it"), assistant("here")]]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([user("a"), user("b"), assistant("c")], "messages[1] has role 'user' where a 'assistant'"),
        ([assistant("a"), user("b"), assistant("c")], "messages[0] has role 'assistant'"),
        ([{"role": "system", "content": "s"}, user("a")], "has no assistant turn"),
        ([user("a"), assistant("b"), user("c")], "ends on the user"),
        ([user("a"), assistant(" ")], "messages[1] (assistant) is empty"),
        ([user("a"), {"role": "bot", "content": "b"}], "messages[1] is not a message with a role"),
        ("hello", "'messages' is a str, not a list"),
    ],
)
def test_bad_conversations_name_file_and_line(tmp_path: Path, messages, expected: str) -> None:
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        [{"messages": [user("fine"), assistant("ok")]}, {"messages": messages}],
    )
    with pytest.raises(DataError) as caught:
        read(path)
    assert f"{path} line 2: " in str(caught.value)
    assert expected in str(caught.value)


def test_empty_response_is_an_error_naming_the_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"prompt": "a", "response": "b"}, {"prompt": "c"}])
    with pytest.raises(DataError, match=r"t\.jsonl line 2: the response \(column 'response'\)"):
        read(path)


def test_missing_prompt_column_is_named(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"question": "a", "response": "b"}])
    with pytest.raises(DataError, match="has no column 'prompt'"):
        read(path)


def test_recipe_checks_generate_options(tmp_path: Path) -> None:
    base = {"model": "x", "data": {"train": "t.jsonl"}}
    recipe = validate_recipe({**base, "task": {"type": "generate"}, "decoding": {"stop": ["\n"]}})
    assert recipe.decoding.stop == ["\n"] and recipe.decoding.max_new_tokens == 128
    with pytest.raises(RecipeError, match="decoding section applies to task type generate"):
        validate_recipe({**base, "decoding": {"max_new_tokens": 5}})
    with pytest.raises(RecipeError, match="apply to type generate"):
        validate_recipe({**base, "task": {"prompt_column": "q"}})
    with pytest.raises(RecipeError, match="temperature applies only with do_sample"):
        validate_recipe({**base, "task": {"type": "generate"}, "decoding": {"temperature": 0.5}})
    with pytest.raises(BizlmError, match="long_inputs: window does not apply to generate"):
        validate_recipe({**base, "task": {"type": "generate", "long_inputs": "window"}})
