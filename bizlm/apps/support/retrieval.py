"""FAQ retrieval: BM25 over words (jieba words for Chinese) and cosine similarity of encoder
sentence vectors, fused by weighted reciprocal rank (score = sum over rankers of
weight / (k + rank); the embedding ranking weighs 1, BM25 ``bm25_weight``).

Each entry has two vectors, its question and its question with the answer; a message's
similarity to the entry is the larger of the two cosines.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rank_bm25 import BM25Okapi

from bizlm.apps.support.faq_files import FaqEntry
from bizlm.atomic import atomic_write_bytes, atomic_write_text
from bizlm.prompting.encoding import embed_texts, load_sentence_classifier

Mode = Literal["hybrid", "bm25", "embedding"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "embedding")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased words for BM25; runs of Chinese characters are segmented with jieba."""
    import jieba

    tokens: list[str] = []
    cursor = 0
    for match in _CJK_RUN.finditer(text):
        tokens += _WORD.findall(text[cursor : match.start()].lower())
        tokens += [w for w in jieba.lcut(match.group()) if w.strip()]
        cursor = match.end()
    tokens += _WORD.findall(text[cursor:].lower())
    return tokens


def rrf_scores(
    rankings: Sequence[np.ndarray], k: int, weights: Sequence[float] | None = None
) -> np.ndarray:
    """Reciprocal-rank fusion of rankings (each: document indices, best first), each ranking
    weighted (default: all 1)."""
    size = len(rankings[0])
    fused = np.zeros(size)
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        fused[ranking] += weight / (k + np.arange(1, size + 1))
    return fused


class SentenceEncoder:
    """Unit-length sentence vectors from a backbone (mean pooling of its last layer)."""

    def __init__(self, reference: str, max_length: int = 128) -> None:
        self.reference = reference
        self.max_length = max_length
        _, self.tokenizer, self.model = load_sentence_classifier(reference, ["faq"])

    @classmethod
    def for_recipe(cls, recipe: dict[str, Any]) -> SentenceEncoder:
        """The encoder of a project's intent recipe: its model and max length."""
        return cls(
            str(recipe.get("model", "default")),
            int(recipe.get("train", {}).get("max_length", 128)),
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text."""
        return embed_texts(self.model, self.tokenizer, list(texts), self.max_length)


VECTOR_FIELDS = "question, question + answer"


@dataclass(frozen=True)
class Hit:
    """One retrieved FAQ entry with its fused score and its cosine similarity."""

    entry: FaqEntry
    score: float
    similarity: float


@dataclass(frozen=True)
class QueryScores:
    """One query against every entry: cosine similarity and BM25 score."""

    similarity: np.ndarray
    bm25: np.ndarray

    def fused(self, mode: Mode, k: int, bm25_weight: float) -> np.ndarray:
        """The entries' scores under one ranker, or their weighted rank fusion."""
        if mode == "embedding":
            return self.similarity
        if mode == "bm25":
            return self.bm25
        by_embedding = np.argsort(-self.similarity, kind="stable")
        by_bm25 = np.argsort(-self.bm25, kind="stable")
        return rrf_scores([by_embedding, by_bm25], k, [1.0, bm25_weight])


class FaqIndex:
    """A searchable FAQ: BM25 over question and answer words plus two vectors per entry."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        vectors: np.ndarray,
        encoder: SentenceEncoder,
        k: int,
        bm25_weight: float = 1.0,
    ) -> None:
        self.entries = list(entries)
        self.vectors = vectors  # (entries, 2, dim): question, question + answer
        self.encoder = encoder
        self.rrf_k = k
        self.bm25_weight = bm25_weight
        self.bm25 = BM25Okapi([words(f"{e.question} {e.answer}") for e in self.entries])

    @classmethod
    def build(
        cls, entries: Sequence[FaqEntry], encoder: SentenceEncoder, k: int, bm25_weight: float = 1.0
    ) -> FaqIndex:
        """Embed each entry's question, and its question with the answer."""
        questions = encoder.encode([e.question for e in entries])
        with_answers = encoder.encode([f"{e.question} {e.answer}" for e in entries])
        return cls(entries, np.stack([questions, with_answers], axis=1), encoder, k, bm25_weight)

    def scores(self, query: str) -> QueryScores:
        """The query's cosine similarity and BM25 score against every entry."""
        similarity = (self.vectors @ self.encoder.encode([query])[0]).max(axis=1)
        return QueryScores(similarity, np.asarray(self.bm25.get_scores(words(query))))

    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The best ``top_k`` entries for a query by one ranker or by their fusion."""
        per_entry = self.scores(query)
        scores = per_entry.fused(mode, self.rrf_k, self.bm25_weight)
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [
            Hit(self.entries[i], float(scores[i]), float(per_entry.similarity[i])) for i in order
        ]

    def save(self, folder: Path) -> None:
        """Write the vectors, what they were computed from and the fusion weight."""
        vectors = io.BytesIO()
        np.save(vectors, self.vectors)
        atomic_write_bytes(folder / "faq_vectors.npy", vectors.getvalue())
        meta = {**_index_key(self.encoder, self.entries), "bm25_weight": self.bm25_weight}
        atomic_write_text(folder / "faq_index.json", json.dumps(meta, indent=2))

    @classmethod
    def load(
        cls,
        folder: Path,
        entries: Sequence[FaqEntry],
        encoder: SentenceEncoder,
        k: int,
        bm25_weight: float | None = None,
    ) -> FaqIndex:
        """The saved index, or a fresh one when the FAQ or the model changed since. The BM25
        weight is ``bm25_weight`` when given, else the saved one (1 when none was saved)."""
        meta_path = folder / "faq_index.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        weight = bm25_weight if bm25_weight is not None else float(meta.get("bm25_weight", 1.0))
        key = _index_key(encoder, entries)
        if all(meta.get(name) == value for name, value in key.items()):
            return cls(entries, np.load(folder / "faq_vectors.npy"), encoder, k, weight)
        return cls.build(entries, encoder, k, weight)


def _index_key(encoder: SentenceEncoder, entries: Sequence[FaqEntry]) -> dict[str, str]:
    """What the saved vectors depend on."""
    return {
        "model": encoder.reference,
        "faq_sha256": faq_checksum(entries),
        "vectors": VECTOR_FIELDS,
    }


def faq_checksum(entries: Sequence[FaqEntry]) -> str:
    """SHA-256 of the entries' ids, questions and answers."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(json.dumps([entry.id, entry.question, entry.answer]).encode())
    return digest.hexdigest()
