"""Training conversations for a reply model, made the way the desk prompts it.

For each question the passages are retrieved as the answerer retrieves them (``top_k``, the
re-ranker when there is one) and :func:`~bizlm.apps.support.grounded.prompt.build_messages`
gives the prompt. The answer to learn is the reference answer with the number of the first
retrieved passage of its source file cited in each sentence, or, for a question the documents
do not answer, :data:`~bizlm.apps.support.grounded.prompt.NO_ANSWER`. An answerable question
whose source file is not among the retrieved passages (or that names no source) gives no row:
the model would learn to cite what it was not shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bizlm.apps.support.grounded.answerer import Searcher, retrieve_hits
from bizlm.apps.support.grounded.prompt import NO_ANSWER, build_messages
from bizlm.apps.support.grounded.questions import KnowledgeQuestion
from bizlm.apps.support.grounded.rerank import Reranker
from bizlm.apps.support.grounded.support import content_words, split_sentences
from bizlm.apps.support.knowledge.passages import Passage

SOURCE_NOT_RETRIEVED = "source file not retrieved"
NO_SOURCE = "answerable question without a source file"
_SENTENCE_ENDS = ".!?。！？"


@dataclass
class ReplyRows:
    """Training rows (``{"messages": [...]}``) and the questions that gave none, by reason."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    answers: int = 0
    refusals: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Counts of rows and of skipped questions by reason (JSON-ready)."""
        return {
            "rows": len(self.rows),
            "answers": self.answers,
            "refusals": self.refusals,
            "skipped": {reason: len(found) for reason, found in self.skipped.items()},
        }


def cite(answer: str, number: int) -> str:
    """``answer`` with ``[number]`` before the end of each sentence that has content words."""
    marked = []
    for sentence in split_sentences(answer):
        if not content_words(sentence):
            marked.append(sentence)
        elif sentence[-1] in _SENTENCE_ENDS:
            marked.append(f"{sentence[:-1]} [{number}]{sentence[-1]}")
        else:
            marked.append(f"{sentence} [{number}]")
    return " ".join(marked)


def target_reply(question: KnowledgeQuestion, passages: Sequence[Passage]) -> str | None:
    """The reply to learn for ``question`` from ``passages``; None with a reason in
    :func:`skip_reason` when there is none."""
    if not question.answerable:
        return NO_ANSWER
    numbers = [n for n, p in enumerate(passages, start=1) if p.file == question.source]
    return cite(question.answer, numbers[0]) if numbers else None


def skip_reason(question: KnowledgeQuestion) -> str:
    """Why an answerable question gave no row."""
    return SOURCE_NOT_RETRIEVED if question.source else NO_SOURCE


def build_reply_rows(
    questions: Sequence[KnowledgeQuestion],
    knowledge_base: Searcher,
    top_k: int,
    reranker: Reranker | None = None,
) -> ReplyRows:
    """One chat row per question that can be learned from (see the module's description)."""
    built = ReplyRows()
    for question in questions:
        hits = retrieve_hits(knowledge_base, question.question, top_k, reranker)
        passages = [hit.passage for hit in hits]
        reply = target_reply(question, passages)
        if reply is None:
            built.skipped.setdefault(skip_reason(question), []).append(question.question)
            continue
        prompt = build_messages(question.question, passages)
        built.rows.append({"messages": [*prompt, {"role": "assistant", "content": reply}]})
        if question.answerable:
            built.answers += 1
        else:
            built.refusals += 1
    return built
