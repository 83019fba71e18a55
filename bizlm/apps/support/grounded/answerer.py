"""A grounded answer: retrieve passages, generate a reply that cites them, check the reply.

The conversation goes to a person instead (``handoff_reason`` set) when retrieval is weak (no
passage, or none with a similarity of ``min_similarity`` or more), when the model writes no
words, when the model says the sources do not answer (its first sentence is
:data:`~bizlm.apps.support.grounded.prompt.NO_ANSWER`), or when a sentence of the reply is not
supported by its sources.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bizlm.apps.support.grounded.citations import MARKER, Citation, parse_citations
from bizlm.apps.support.grounded.prompt import build_messages, is_no_answer
from bizlm.apps.support.grounded.rerank import Reranker
from bizlm.apps.support.grounded.sentence_buffer import SentenceBuffer
from bizlm.apps.support.grounded.settings import KnowledgeSettings
from bizlm.apps.support.grounded.support import SentenceSupport, score_sentences
from bizlm.apps.support.knowledge.passages import Passage
from bizlm.apps.support.knowledge.search import KnowledgeHit

WEAK_RETRIEVAL = "weak_retrieval"
EMPTY_REPLY = "empty_reply"
UNSUPPORTED = "unsupported"
NO_ANSWER_REASON = "no_answer"
_WORD = re.compile(r"\w")


class Searcher(Protocol):
    """What finds passages: a :class:`~bizlm.apps.support.knowledge.search.KnowledgeBase`."""

    passages: list[Passage]

    def search(self, query: str, k: int = 5) -> list[KnowledgeHit]:
        """The best ``k`` passages for ``query``."""
        ...


class ReplyWriter(Protocol):
    """What writes replies: a generate bundle's ``GeneratePredictor`` or a stand-in."""

    def stream(self, prompt: list[dict[str, str]], **overrides: Any) -> Generator[str, None, None]:
        """Pieces of the assistant's next turn in a conversation, as they are written;
        closing the iterator stops the writing."""
        ...


def retrieve_hits(
    knowledge_base: Searcher, message: str, top_k: int, reranker: Reranker | None = None
) -> list[KnowledgeHit]:
    """The ``top_k`` passages for ``message`` (the re-ranker's best of its candidates, when
    there is one): the passages a grounded reply is written from."""
    if reranker is None:
        return knowledge_base.search(message, top_k)
    candidates = knowledge_base.search(message, reranker.candidates)
    return reranker.rerank(message, candidates, top_k)


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
        self,
        knowledge_base: Searcher,
        generator: ReplyWriter,
        settings: KnowledgeSettings,
        reranker: Reranker | None = None,
    ) -> None:
        self.knowledge_base = knowledge_base
        self.generator = generator
        self.settings = settings
        self.reranker = reranker

    def passage(self, passage_id: str) -> Passage | None:
        """The knowledge base's passage with this id, if there is one."""
        return next((p for p in self.knowledge_base.passages if p.id == passage_id), None)

    def retrieve(self, message: str) -> list[KnowledgeHit]:
        """The ``top_k`` passages for ``message`` (the re-ranker's best of its candidates,
        when there is one)."""
        return retrieve_hits(self.knowledge_base, message, self.settings.top_k, self.reranker)

    def answer(self, message: str) -> GroundedReply:
        """Retrieve, then :meth:`answer_from` the hits."""
        return self.answer_from(message, self.retrieve(message))

    def answer_from(self, message: str, hits: Sequence[KnowledgeHit]) -> GroundedReply:
        """The checked reply to ``message`` from already retrieved ``hits`` (best first)."""
        *_, reply = self.stream_from(message, hits)
        assert isinstance(reply, GroundedReply)
        return reply

    def stream_from(
        self, message: str, hits: Sequence[KnowledgeHit]
    ) -> Iterator[str | GroundedReply]:
        """The reply as it is written: each sentence once it is complete and supported
        (with the space written before it, unknown citation markers dropped), then the
        :class:`GroundedReply`. The first unsupported sentence ends generation at once;
        the sentences given before it were each supported. A first sentence that says the
        sources do not answer ends generation too, and is never given. Closing the iterator
        stops the generation."""
        passages = [hit.passage for hit in hits]
        best = max((hit.similarity for hit in hits), default=None)
        if best is None or best < self.settings.min_similarity:
            yield GroundedReply(
                "", passages=passages, handoff_reason=WEAK_RETRIEVAL, best_similarity=best
            )
            return
        pieces = self.generator.stream(
            build_messages(message, passages), max_new_tokens=self.settings.max_new_tokens
        )
        buffer, scored = SentenceBuffer(), []
        refusal = None
        try:
            for separator, sentence in buffer.sentences(pieces):
                if not scored and is_no_answer(sentence):
                    refusal = sentence
                    break
                [support] = score_sentences(sentence, passages)
                scored.append(support)
                if support.score < self.settings.support_threshold:
                    break
                if _WORD.search(MARKER.sub(" ", sentence)):
                    yield separator + parse_citations(sentence, passages).text
        finally:
            pieces.close()
        if refusal is not None:
            yield GroundedReply(
                refusal,
                passages=passages,
                handoff_reason=NO_ANSWER_REASON,
                best_similarity=best,
            )
            return
        yield self._checked(buffer.text, passages, scored, best)

    def _checked(
        self,
        written: str,
        passages: list[Passage],
        scored: list[SentenceSupport],
        best: float,
    ) -> GroundedReply:
        """The reply of ``written`` text whose sentences were ``scored`` (all of them, or up
        to the first unsupported one)."""
        parsed = parse_citations(written, passages)
        reply = GroundedReply(
            parsed.text,
            parsed.citations,
            scored,
            passages=passages,
            unknown_citations=parsed.unknown,
            best_similarity=best,
        )
        if not _WORD.search(MARKER.sub(" ", parsed.text)):
            reply.handoff_reason = EMPTY_REPLY
        elif any(s.score < self.settings.support_threshold for s in scored):
            reply.handoff_reason = UNSUPPORTED
        else:
            reply.supported = True
        return reply
