"""The FAQ files of a support project: ``faq.jsonl`` (the entries) and ``faq_queries.jsonl``
(customer wordings labelled with the entry that answers them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.apps.support.errors import SupportProjectError

FAQ_FILE = "faq.jsonl"
QUERIES_FILE = "faq_queries.jsonl"


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ entry."""

    id: str
    question: str
    answer: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaqQuery:
    """A customer's wording of a question and the FAQ entry that answers it."""

    question: str
    faq_id: str


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a JSONL file."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SupportProjectError(
                f"{path}, line {number}: not valid JSON ({exc.msg})."
            ) from exc
        yield number, row


def _faq_tags(value: Any, where: str) -> tuple[str, ...]:
    """An entry's tags from a list of strings or a comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(tag.strip() for tag in value.split(",") if tag.strip())
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return tuple(value)
    raise SupportProjectError(
        f"{where}: 'tags' must be a list of strings or a comma-separated string, "
        f"not {json.dumps(value)}."
    )


def read_faq(path: Path) -> tuple[list[FaqEntry], list[str]]:
    """FAQ entries of a JSONL file and warnings (duplicate questions are kept, with a warning)."""
    if not path.is_file():
        raise SupportProjectError(f"{path} does not exist.", hint="Add one FAQ entry a line.")
    entries: list[FaqEntry] = []
    for number, row in jsonl_rows(path):
        if not isinstance(row, dict) or any(
            not str(row.get(k, "")).strip() for k in ("question", "answer")
        ):
            raise SupportProjectError(
                f"{path}, line {number}: an FAQ entry needs a non-empty 'question' and 'answer'.",
            )
        tags = _faq_tags(row.get("tags"), f"{path}, line {number}")
        entries.append(FaqEntry(str(row.get("id") or number), row["question"], row["answer"], tags))
    if not entries:
        raise SupportProjectError(
            f"{path} holds no FAQ entry.",
            hint='Add lines like {"id": "hours", "question": "...", "answer": "..."}.',
        )
    ids = [e.id for e in entries]
    repeated_ids = sorted({i for i in ids if ids.count(i) > 1})
    if repeated_ids:
        raise SupportProjectError(f"{path}: FAQ ids {repeated_ids} are used more than once.")
    return entries, _duplicate_questions(path, entries)


def read_faq_queries(path: Path, entries: list[FaqEntry]) -> list[FaqQuery]:
    """Labelled queries of a JSONL file (none when it does not exist)."""
    if not path.is_file():
        return []
    ids = {entry.id for entry in entries}
    queries = []
    for number, row in jsonl_rows(path):
        fields = row if isinstance(row, dict) else {}
        question, faq_id = fields.get("question"), str(fields.get("faq_id", ""))
        if not isinstance(question, str) or not question.strip() or not faq_id:
            raise SupportProjectError(
                f"{path}, line {number}: a query needs a non-empty 'question' and 'faq_id'."
            )
        if faq_id not in ids:
            raise SupportProjectError(
                f"{path}, line {number}: faq_id '{faq_id}' is not an id in {FAQ_FILE}.",
                hint="Use the id of the entry that answers the question.",
            )
        queries.append(FaqQuery(question, faq_id))
    return queries


def _duplicate_questions(path: Path, entries: list[FaqEntry]) -> list[str]:
    seen: dict[str, list[str]] = {}
    for entry in entries:
        seen.setdefault(" ".join(entry.question.lower().split()), []).append(entry.id)
    return [
        f"{path}: the question '{question}' appears in entries {ids}; both are kept."
        for question, ids in seen.items()
        if len(ids) > 1
    ]
