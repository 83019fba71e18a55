"""A grounded answer: retrieve passages, generate a reply that cites them, check the reply.

The conversation goes to a person instead (``handoff_reason`` set) when retrieval is weak (no
passage, or the best one's similarity is below ``min_similarity``), when the model writes no
words, or when a sentence of the reply is not supported by its sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bizlm.apps.support.grounded.citations import MARKER, Citation, parse_citations
from bizlm.apps.support.grounded.prompt import build_messages
from bizlm.apps.support.grounded.settings import KnowledgeSettings
from bizlm.apps.support.grounded.support import SentenceSupport, score_sentences
from bizlm.apps.support.knowledge.passages import Passage
from bizlm.apps.support.knowledge.search import KnowledgeHit

WEAK_RETRIEVAL = "weak_retrieval"
EMPTY_REPLY = "empty_reply"
UNSUPPORTED = "unsupported"
_WORD = re.compile(r"\w")


class Searcher(Protocol):
    """What finds passages: a :class:`~bizlm.apps.support.knowledge.search.KnowledgeBase`."""

    def search(self, query: str, k: int = 5) -> list[KnowledgeHit]:
        """The best ``k`` passages for ``query``."""
        ...


class Generator(Protocol):
    """What writes replies: a generate bundle's ``GeneratePredictor`` or a stand-in."""

    def chat(self, conversations: Sequence[list[dict[str, str]]], **overrides: Any) -> list[str]:
        """The assistant's next turn in each conversation."""
        ...


@dataclass
class GroundedReply:
    """A generated reply with its citations and per-sentence support, or why it was refused."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)
    supported: bool = False
    handoff_reason: str | None = None
    passages: list[Passage] = field(default_factory=list)
    unknown_citations: list[int] = field(default_factory=list)
    best_similarity: float | None = None

    def sources(self) -> list[dict[str, Any]]:
        """The cited passages as JSON-ready sources (number, file, heading, link, passage id,
        excerpt)."""
        return [citation.to_json() for citation in self.citations]


class GroundedAnswerer:
    """Answers from a knowledge base through a generator, with the checks of ``settings``."""

    def __init__(
        self, knowledge_base: Searcher, generator: Generator, settings: KnowledgeSettings
    ) -> None:
        self.knowledge_base = knowledge_base
        self.generator = generator
        self.settings = settings

    def retrieve(self, message: str) -> list[KnowledgeHit]:
        """The ``top_k`` passages for ``message``."""
        return self.knowledge_base.search(message, self.settings.top_k)

    def answer(self, message: str) -> GroundedReply:
        """Retrieve, then :meth:`answer_from` the hits."""
        return self.answer_from(message, self.retrieve(message))

    def answer_from(self, message: str, hits: Sequence[KnowledgeHit]) -> GroundedReply:
        """The checked reply to ``message`` from already retrieved ``hits`` (best first)."""
        passages = [hit.passage for hit in hits]
        best = hits[0].similarity if hits else None
        if best is None or best < self.settings.min_similarity:
            return GroundedReply(
                "", passages=passages, handoff_reason=WEAK_RETRIEVAL, best_similarity=best
            )
        messages = build_messages(message, passages)
        [written] = self.generator.chat([messages], max_new_tokens=self.settings.max_new_tokens)
        parsed = parse_citations(written, passages)
        reply = GroundedReply(
            parsed.text,
            parsed.citations,
            passages=passages,
            unknown_citations=parsed.unknown,
            best_similarity=best,
        )
        if not _WORD.search(MARKER.sub(" ", parsed.text)):
            reply.handoff_reason = EMPTY_REPLY
            return reply
        reply.sentences = score_sentences(parsed.text, passages)
        threshold = self.settings.support_threshold
        reply.supported = all(sentence.score >= threshold for sentence in reply.sentences)
        if not reply.supported:
            reply.handoff_reason = UNSUPPORTED
        return reply
