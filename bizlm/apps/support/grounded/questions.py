"""The knowledge questions of a project (``knowledge_questions.jsonl``): questions about the
documents, each with a reference answer written from them, or marked as not answered there.

One row a line: ``{"question", "answer", "answerable", "split", "source"}``. ``answer`` is the
reference answer, required when ``answerable`` is true; ``source`` (optional) names the file in
``docs/`` that answers the question; ``split`` is ``validation`` (the default: these rows tune
the support threshold) or ``test`` (never used to choose a setting), or ``train`` (these rows
teach a reply model: ``bizlm app support train-replies``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.faq_files import jsonl_rows

QUESTIONS_FILE = "knowledge_questions.jsonl"
VALIDATION = "validation"
TEST = "test"
TRAIN = "train"
SPLITS = (TRAIN, VALIDATION, TEST)
_ROW_HINT = (
    'Write one question a line: {"question": "...", "answer": "...", "answerable": true, '
    '"split": "validation"}.'
)


@dataclass(frozen=True)
class KnowledgeQuestion:
    """A question about the documents and its reference answer (empty when unanswerable)."""

    question: str
    answer: str
    answerable: bool
    split: str = VALIDATION
    source: str | None = None


def _question(row: Any, where: str) -> KnowledgeQuestion:
    """One row checked: every problem names ``where`` it is."""
    if not isinstance(row, dict):
        raise SupportProjectError(f"{where}: a row must be a JSON object.", hint=_ROW_HINT)
    question, answer = row.get("question"), row.get("answer", "")
    answerable, split = row.get("answerable"), row.get("split", VALIDATION)
    source = row.get("source")
    if not isinstance(question, str) or not question.strip():
        raise SupportProjectError(f"{where}: 'question' must be a non-empty text.", hint=_ROW_HINT)
    if not isinstance(answerable, bool):
        raise SupportProjectError(
            f"{where}: 'answerable' must be true or false, not {answerable!r}.", hint=_ROW_HINT
        )
    if not isinstance(answer, str) or (answerable and not answer.strip()):
        raise SupportProjectError(
            f"{where}: an answerable question needs its reference 'answer', a non-empty text.",
            hint="Write the answer the documents give, in one or two sentences.",
        )
    if split not in SPLITS:
        raise SupportProjectError(
            f"{where}: 'split' is {split!r}; use {TRAIN!r}, {VALIDATION!r} or {TEST!r}.",
            hint=_ROW_HINT,
        )
    if source is not None and not isinstance(source, str):
        raise SupportProjectError(f"{where}: 'source' must be a file name in docs/.")
    return KnowledgeQuestion(question, answer, answerable, split, source)


def read_knowledge_questions(path: Path) -> list[KnowledgeQuestion]:
    """Every question of a JSONL file; a missing file or a bad row is a clear error."""
    if not path.is_file():
        raise SupportProjectError(
            f"There is no questions file {path}.",
            hint=f"Write {QUESTIONS_FILE} in the project folder or pass --questions FILE. "
            f"{_ROW_HINT}",
        )
    return [_question(row, f"{path}, line {number}") for number, row in jsonl_rows(path)]
