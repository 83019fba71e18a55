"""Tuning ``knowledge.support_threshold`` on the validation questions of a project.

Each validation question is answered by the :class:`GroundedAnswerer`. A reply that reaches the
support check is scored by its weakest sentence (:func:`reply_score`) and labelled truly
supported when its question is answerable and the reply, citation markers left out, holds at
least :data:`MIN_REFERENCE_RECALL` of the content words the reference answer adds to the
question (:func:`reference_recall`; all of its content words when it adds none), so a reply
that only repeats the question is not supported; an answer to an unanswerable question never is.
Replies handed off before the check (weak retrieval, no words, the no-answer sentence) do not
depend on the threshold and are left out of the tuning (they are counted).
:func:`tune_support_threshold` then picks the lowest threshold whose accepted replies reach the
target precision.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.answerer import GroundedAnswerer, GroundedReply
from bizlm.apps.support.grounded.questions import VALIDATION, KnowledgeQuestion
from bizlm.apps.support.grounded.support import (
    SupportThreshold,
    content_words,
    tune_support_threshold,
)

MIN_REFERENCE_RECALL = 0.5
LABEL_RULE = (
    f"answerable question, and the reply holds at least {MIN_REFERENCE_RECALL:.0%} of the "
    "content words the reference answer adds to the question"
)
_DECIMALS = 4


@dataclass(frozen=True)
class ScoredReply:
    """One validation question's reply: its score (None when it was handed off before the
    support check), whether it is truly supported, and the answerer's hand-off reason."""

    question: KnowledgeQuestion
    text: str
    score: float | None
    truly_supported: bool
    handoff_reason: str | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record of the reply."""
        return {
            "question": self.question.question,
            "answerable": self.question.answerable,
            "reply": self.text,
            "score": self.score,
            "truly_supported": self.truly_supported,
            "handoff_reason": self.handoff_reason,
        }


def reply_score(reply: GroundedReply) -> float | None:
    """The weakest sentence's support score, or None when no sentence was scored."""
    return min((sentence.score for sentence in reply.sentences), default=None)


def answer_words(question: KnowledgeQuestion) -> set[str]:
    """The content words of the reference answer that the question does not hold (all of them
    when the question holds every one)."""
    words = content_words(question.answer)
    return (words - content_words(question.question)) or words


def reference_recall(reply: str, question: KnowledgeQuestion) -> float:
    """The share of :func:`answer_words` that the reply holds (0 when there are none)."""
    wanted = answer_words(question)
    return len(wanted & content_words(reply)) / len(wanted) if wanted else 0.0


def is_truly_supported(question: KnowledgeQuestion, reply: str) -> bool:
    """The label rule (:data:`LABEL_RULE`)."""
    return question.answerable and reference_recall(reply, question) >= MIN_REFERENCE_RECALL


def validation_questions(
    questions: Sequence[KnowledgeQuestion], target_precision: float
) -> list[KnowledgeQuestion]:
    """The validation questions to tune on, after checking the target precision and that some
    of them are answerable (clear errors otherwise)."""
    if not 0 < target_precision <= 1:
        raise SupportProjectError(
            f"The target precision is {target_precision}; it must be above 0 and at most 1.",
            hint="Pass --target-precision 0.9, for example.",
        )
    validation = [question for question in questions if question.split == VALIDATION]
    if not any(question.answerable for question in validation):
        raise SupportProjectError(
            f"None of the {len(validation)} validation questions is answerable, so no reply "
            "can be truly supported and no threshold can be tuned.",
            hint='Add validation rows with "answerable": true and the reference "answer" the '
            "documents give.",
        )
    return validation


def score_replies(
    answerer: GroundedAnswerer, questions: Sequence[KnowledgeQuestion]
) -> list[ScoredReply]:
    """Each question answered in full (no sentence stops the writing: a reply's weakest
    sentence may come after one that fails the current threshold), scored and labelled."""
    unstopped = answerer.settings.model_copy(update={"support_threshold": 0.0})
    writer = GroundedAnswerer(
        answerer.knowledge_base, answerer.generator, unstopped, answerer.reranker
    )
    scored = []
    for question in questions:
        reply = writer.answer(question.question)
        score = reply_score(reply)
        supported = score is not None and is_truly_supported(question, reply.text)
        scored.append(ScoredReply(question, reply.text, score, supported, reply.handoff_reason))
    return scored


@dataclass(frozen=True)
class GroundingTuning:
    """The tuned threshold and the validation replies it was tuned on."""

    tuned: SupportThreshold
    target_precision: float
    replies: list[ScoredReply]

    @property
    def support_threshold(self) -> float:
        """The threshold rounded down to 4 decimals, so every accepted reply stays accepted."""
        return math.floor(self.tuned.threshold * 10**_DECIMALS) / 10**_DECIMALS

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary, with every reply."""
        scored = [reply for reply in self.replies if reply.score is not None]
        before_check = Counter(
            str(reply.handoff_reason) for reply in self.replies if reply.score is None
        )
        return {
            "support_threshold": self.support_threshold,
            "target_precision": self.target_precision,
            "validation_precision": self.tuned.precision,
            "validation_coverage": self.tuned.coverage,
            "reached_target": self.tuned.reached,
            "questions": len(self.replies),
            "answerable": sum(reply.question.answerable for reply in self.replies),
            "scored_replies": len(scored),
            "truly_supported": sum(reply.truly_supported for reply in scored),
            "handed_off_before_check": dict(sorted(before_check.items())),
            "label_rule": LABEL_RULE,
            "replies": [reply.to_json() for reply in self.replies],
        }


def tune_grounding(
    answerer: GroundedAnswerer,
    questions: Sequence[KnowledgeQuestion],
    target_precision: float = 0.9,
) -> GroundingTuning:
    """The lowest support threshold at which the validation replies it accepts are truly
    supported at ``target_precision`` (the best precision when none reaches it)."""
    validation = validation_questions(questions, target_precision)
    replies = score_replies(answerer, validation)
    pairs = [(reply.score, reply.truly_supported) for reply in replies if reply.score is not None]
    if not pairs:
        reasons = Counter(str(reply.handoff_reason) for reply in replies)
        raise SupportProjectError(
            f"None of the {len(replies)} validation questions got a reply to score (hand-offs "
            f"before the support check: {dict(sorted(reasons.items()))}).",
            hint="Check that docs/ answers the questions and is indexed, or lower "
            "knowledge.min_similarity in support.yaml.",
        )
    tuned = tune_support_threshold(pairs, target_precision)
    return GroundingTuning(tuned, target_precision, replies)
