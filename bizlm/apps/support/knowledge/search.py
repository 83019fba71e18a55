"""Searching the passages: BM25 over their words and cosine similarity of sentence vectors,
fused by the FAQ's weighted reciprocal-rank rule (:meth:`QueryScores.fused`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from rank_bm25 import BM25Okapi

from bizlm.apps.support.knowledge.errors import KnowledgeBaseError
from bizlm.apps.support.knowledge.passages import Passage, deduplicate
from bizlm.apps.support.retrieval import MODES, Mode, QueryScores, words


class Encoder(Protocol):
    """What embeds passages and queries: a ``retrieval.SentenceEncoder`` or a stand-in."""

    reference: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text."""
        ...


@dataclass(frozen=True)
class KnowledgeHit:
    """One found passage: its score under the chosen mode, and each ranker's own score."""

    passage: Passage
    score: float
    similarity: float
    bm25: float


class KnowledgeBase:
    """Passages (duplicates merged) with their vectors and a BM25 index of their words."""

    def __init__(
        self,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        encoder: Encoder,
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
    ) -> None:
        if not passages:
            raise KnowledgeBaseError(
                "The knowledge base holds no passage.",
                hint="Put documents in the project's docs/ folder and index them.",
            )
        if len(vectors) != len(passages):
            raise ValueError(f"{len(passages)} passages but {len(vectors)} vectors")
        self.passages, kept = deduplicate(passages)
        self.vectors = vectors[kept]
        self.encoder = encoder
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.bm25 = BM25Okapi([words(p.search_text) for p in self.passages])

    def scores(self, query: str) -> QueryScores:
        """The query's cosine similarity and BM25 score against every passage."""
        similarity = self.vectors @ self.encoder.encode([query])[0]
        return QueryScores(similarity, np.asarray(self.bm25.get_scores(words(query))))

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[KnowledgeHit]:
        """The best ``k`` passages for a query, by one ranker or by the fusion of both."""
        if not query.strip():
            raise KnowledgeBaseError("The query is empty.", hint="Give words to search for.")
        if k < 1:
            raise KnowledgeBaseError(f"k is {k}; ask for at least 1 passage.")
        if mode not in MODES:
            raise KnowledgeBaseError(f"Unknown search mode {mode!r}; use one of {list(MODES)}.")
        per_passage = self.scores(query)
        scores = per_passage.fused(mode, self.rrf_k, self.bm25_weight)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            KnowledgeHit(
                self.passages[i],
                float(scores[i]),
                float(per_passage.similarity[i]),
                float(per_passage.bm25[i]),
            )
            for i in order
        ]
