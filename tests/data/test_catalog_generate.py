"""Tests for the generate catalog sets (chatterbot-en, chatterbot-zh): prompt/response pairs
read from archives laid out like the chatterbot-corpus wheel, and from the real package."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bench.defaults import classification_sets
from bizlm.data.catalog import dataset_info, fetch, get_entry, list_catalog
from bizlm.errors import CatalogError
from bizlm.task_config import TaskConfig
from bizlm.tasks import build_task

SPLITS = ("train", "validation", "test")
GENERATE_SETS = ("chatterbot-en", "chatterbot-zh")
WHEEL = "chatterbot_corpus-1.3.3-py2.py3-none-any.whl"
ENGLISH = "chatterbot_corpus/data/english/"
CHINESE = "chatterbot_corpus/data/chinese/"


def _wheel(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text.encode("utf-8"))
    return path


def _yaml(category: str, conversations: list[str]) -> str:
    return f"categories:\n- {category}\nconversations:\n" + "".join(conversations)


def _corpus(tmp_path: Path) -> Path:
    """An English folder with 40 trivia pairs, a 3-turn chat, a repeated prompt, an empty
    answer and a stray line of text; a Chinese folder with 12 pairs."""
    trivia = [f"- - What is {i} plus {i}?\n  - It is {2 * i}.\n" for i in range(40)]
    trivia += [
        "- - What is 0 plus 0?\n  - Zero.\n",  # repeated prompt, another answer
        "- - Who wrote Hamlet?\n  - ''\n",  # empty answer
        "- 'A stray line - not a list'\n",
    ]
    chat = ["- - Hello\n  - Hi there.\n  - How are you?\n"]
    chinese = [f"- - 第{i}个问题是什么？\n  - 这是第{i}个回答。\n" for i in range(12)]
    return _wheel(
        tmp_path / WHEEL,
        {
            f"{ENGLISH}trivia.yml": _yaml("trivia", trivia),
            f"{ENGLISH}greetings.yml": _yaml("greetings", chat),
            f"{CHINESE}ai.yml": _yaml("ai", chinese),
            "chatterbot_corpus/__init__.py": "",
        },
    )


def _rows(folder: Path, split: str) -> list[dict]:
    text = (folder / f"{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def test_generate_sets_are_listed_with_kind_generate_and_not_as_classification_sets() -> None:
    names = {entry.name for entry in list_catalog()}
    assert set(GENERATE_SETS) <= names
    for name in GENERATE_SETS:
        entry = get_entry(name)
        assert entry.kind == "generate" and entry.package == "chatterbot-corpus"
        assert "BSD" in entry.licence and entry.label_columns == ("response",)
    assert not set(GENERATE_SETS) & set(classification_sets())


def test_build_writes_prompt_response_splits_without_repeats(tmp_path: Path, home: Path) -> None:
    folder = fetch("chatterbot-en", archive=_corpus(tmp_path))
    rows = {split: _rows(folder, split) for split in SPLITS}
    every = [row for split in SPLITS for row in rows[split]]
    assert all(set(row) == {"prompt", "response"} for row in every)
    assert all(row["prompt"].strip() and row["response"].strip() for row in every)
    prompts = [row["prompt"] for row in every]
    assert len(prompts) == len(set(prompts)) == 42  # 40 trivia + 2 from the 3-turn chat
    assert {"prompt": "Hi there.", "response": "How are you?"} in every
    assert {"prompt": "What is 0 plus 0?", "response": "It is 0."} in every
    meta = _meta(folder)
    assert meta["kind"] == "generate" and meta["rows"] == 42
    assert meta["counts"] == {split: len(rows[split]) for split in SPLITS}
    assert all(meta["counts"][split] > 0 for split in SPLITS)
    assert meta["cleaning"] == {
        "source_pairs": 44,
        "removed": {"empty prompt or response": 1, "duplicate prompt": 1},
        "duplicates_with_another_response": 1,
    }
    assert sum(meta["category_counts"]["test"].values()) == meta["counts"]["test"]


def test_build_is_seeded_and_reused(tmp_path: Path, home: Path) -> None:
    archive = _corpus(tmp_path)
    first = _meta(fetch("chatterbot-en", archive=archive))["sha256"]
    assert _meta(fetch("chatterbot-en", archive=archive, force=True))["sha256"] == first
    assert dataset_info("chatterbot-en")["fetched"] is True


def test_chinese_set_reads_its_own_folder(tmp_path: Path, home: Path) -> None:
    folder = fetch("chatterbot-zh", archive=_corpus(tmp_path))
    every = [row for split in SPLITS for row in _rows(folder, split)]
    assert len(every) == 12 and all("回答" in row["response"] for row in every)


def test_generate_task_reads_the_built_files(tmp_path: Path, home: Path) -> None:
    folder = fetch("chatterbot-zh", archive=_corpus(tmp_path))
    task = build_task(TaskConfig(type="generate"))
    examples = task.read(folder / "train.jsonl", "utf-8", {})
    assert len(examples) == _meta(folder)["counts"]["train"]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"chatterbot_corpus/__init__.py": ""}, "has no YAML files under"),
        ({f"{ENGLISH}ai.yml": "categories:\n- ai\n"}, "has no 'conversations' list"),
        ({f"{ENGLISH}ai.yml": "conversations: [- - unclosed\n"}, "is not valid YAML"),
    ],
)
def test_a_wrong_archive_gives_a_clear_error(
    tmp_path: Path, home: Path, members: dict[str, str], expected: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        fetch("chatterbot-en", archive=_wheel(tmp_path / WHEEL, members))
    assert expected in caught.value.message
    assert "fetch again" in caught.value.hint
    assert not (home / "datasets" / "chatterbot-en").exists()


def test_too_few_pairs_is_a_clear_error(tmp_path: Path, home: Path) -> None:
    members = {f"{ENGLISH}ai.yml": _yaml("ai", ["- - Hello\n  - Hi.\n"])}
    with pytest.raises(CatalogError, match="gave only 1 usable pairs"):
        fetch("chatterbot-en", archive=_wheel(tmp_path / WHEEL, members))


@pytest.mark.slow
def test_real_package_gives_the_documented_pairs() -> None:
    """Downloads chatterbot-corpus 1.3.3 from PyPI once (kept in the bizlm cache)."""
    expected = {
        "chatterbot-en": {"train": 811, "validation": 102, "test": 102},
        "chatterbot-zh": {"train": 357, "validation": 45, "test": 45},
    }
    for name, counts in expected.items():
        folder = fetch(name)
        assert _meta(folder)["counts"] == counts
        for split in SPLITS:
            rows = _rows(folder, split)
            assert len(rows) == counts[split]
            assert all(row["prompt"].strip() and row["response"].strip() for row in rows)
