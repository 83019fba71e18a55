"""The demo desk's knowledge base: its documents index whole, its questions are well formed and
point at documents that exist, and `init --demo` copies both into the project."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bizlm.apps.support import scaffold
from bizlm.apps.support.grounded.questions import QUESTIONS_FILE, read_knowledge_questions
from bizlm.apps.support.knowledge.indexer import index_documents
from bizlm.apps.support.retrieval import SentenceEncoder

DEMO_DOCS = scaffold.DEMO_DIR / "docs"


def test_the_demo_documents_index_without_skips(tiny_model_dir: Path, tmp_path: Path) -> None:
    encoder = SentenceEncoder(str(tiny_model_dir), max_length=32)
    report = index_documents(DEMO_DOCS, tmp_path / "knowledge", encoder)
    files = sorted(path.name for path in DEMO_DOCS.iterdir())
    assert 6 <= len(files) <= 10 and report.skipped == []
    assert sorted(report.indexed) == files and min(report.indexed.values()) >= 3


def test_every_answerable_demo_question_names_a_document_that_exists() -> None:
    questions = read_knowledge_questions(scaffold.DEMO_DIR / QUESTIONS_FILE)
    kinds = Counter((question.answerable, question.split) for question in questions)
    assert min(kinds[True, split] for split in ("validation", "test")) >= 18
    assert min(kinds[False, split] for split in ("validation", "test")) >= 8
    assert kinds[True, "train"] >= 50 and kinds[False, "train"] >= 15  # for train-replies
    assert len({question.question for question in questions}) == len(questions)
    for question in questions:
        if question.answerable:
            assert question.source and (DEMO_DOCS / question.source).is_file(), question
    sources = {question.source for question in questions if question.answerable}
    assert sources == {path.name for path in DEMO_DOCS.iterdir()}


def test_init_demo_copies_the_documents_and_questions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intents = {"intents": {"date": {"description": "When.", "examples": ["When?"]}}}
    monkeypatch.setattr(scaffold, "demo_intents", lambda *args: intents)
    files = scaffold.init_demo(tmp_path / "desk")
    for document in DEMO_DOCS.iterdir():
        copy = tmp_path / "desk" / "docs" / document.name
        assert copy in files and copy.read_bytes() == document.read_bytes()
    questions = tmp_path / "desk" / QUESTIONS_FILE
    assert questions in files
    assert questions.read_bytes() == (scaffold.DEMO_DIR / QUESTIONS_FILE).read_bytes()
