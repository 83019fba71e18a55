"""FAQ retrieval: BM25 over words (jieba words for Chinese) and cosine similarity of encoder
sentence vectors, fused by reciprocal rank (score = sum over rankers of 1 / (k + rank))."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rank_bm25 import BM25Okapi

from bizlm.apps.support.project import FaqEntry
from bizlm.atomic import atomic_write_text

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


def rrf_scores(rankings: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Reciprocal-rank fusion of rankings (each: document indices, best first)."""
    size = len(rankings[0])
    fused = np.zeros(size)
    for ranking in rankings:
        fused[ranking] += 1.0 / (k + np.arange(1, size + 1))
    return fused


class SentenceEncoder:
    """Unit-length sentence vectors from a backbone (mean pooling of its last layer)."""

    def __init__(self, reference: str, max_length: int = 128) -> None:
        from bizlm.prompting.encoding import load_sentence_classifier  # heavy: at use

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
        from bizlm.prompting.encoding import embed_texts

        return embed_texts(self.model, self.tokenizer, list(texts), self.max_length)


@dataclass(frozen=True)
class Hit:
    """One retrieved FAQ entry with its fused score and its cosine similarity."""

    entry: FaqEntry
    score: float
    similarity: float


class FaqIndex:
    """A searchable FAQ: BM25 over question and answer words plus question vectors."""

    def __init__(
        self, entries: Sequence[FaqEntry], vectors: np.ndarray, encoder: SentenceEncoder, k: int
    ) -> None:
        self.entries = list(entries)
        self.vectors = vectors
        self.encoder = encoder
        self.rrf_k = k
        self.bm25 = BM25Okapi([words(f"{e.question} {e.answer}") for e in self.entries])

    @classmethod
    def build(cls, entries: Sequence[FaqEntry], encoder: SentenceEncoder, k: int) -> FaqIndex:
        """Embed the questions of the entries."""
        return cls(entries, encoder.encode([e.question for e in entries]), encoder, k)

    def search(self, query: str, top_k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        """The best ``top_k`` entries for a query by one ranker or by their fusion."""
        similarity = self.vectors @ self.encoder.encode([query])[0]
        by_embedding = np.argsort(-similarity, kind="stable")
        if mode == "embedding":
            scores = similarity
        else:
            bm25 = np.asarray(self.bm25.get_scores(words(query)))
            by_bm25 = np.argsort(-bm25, kind="stable")
            scores = bm25 if mode == "bm25" else rrf_scores([by_bm25, by_embedding], self.rrf_k)
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [Hit(self.entries[i], float(scores[i]), float(similarity[i])) for i in order]

    def save(self, folder: Path) -> None:
        """Write the question vectors and what they were computed from."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "faq_vectors.npy", self.vectors)
        meta = {"model": self.encoder.reference, "faq_sha256": faq_checksum(self.entries)}
        atomic_write_text(folder / "faq_index.json", json.dumps(meta, indent=2))

    @classmethod
    def load(
        cls, folder: Path, entries: Sequence[FaqEntry], encoder: SentenceEncoder, k: int
    ) -> FaqIndex:
        """The saved index, or a fresh one when the FAQ or the model changed since."""
        meta_path = folder / "faq_index.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            current = meta == {"model": encoder.reference, "faq_sha256": faq_checksum(entries)}
            if current:
                return cls(entries, np.load(folder / "faq_vectors.npy"), encoder, k)
        return cls.build(entries, encoder, k)


def faq_checksum(entries: Sequence[FaqEntry]) -> str:
    """SHA-256 of the entries' ids, questions and answers."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(json.dumps([entry.id, entry.question, entry.answer]).encode())
    return digest.hexdigest()
