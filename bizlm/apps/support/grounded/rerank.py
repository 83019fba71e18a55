"""Re-ranking retrieved passages with a bizlm ``score`` bundle trained on (message, passage)
pairs: a cross-encoder reads the message and the passage together, which the fused BM25 and
vector rankings cannot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.knowledge.search import KnowledgeHit
from bizlm.bundle import read_bundle_info
from bizlm.errors import BizlmError
from bizlm.loading import load

_WHAT_TO_DO = (
    "Set knowledge.rerank_bundle to the output folder of `bizlm train` on a recipe with "
    "task: {type: score, text_pair_column: ...} trained on (message, passage) pairs, or to "
    "null for no re-ranking."
)


class Reranker:
    """Orders passages by a pair scorer's relevance (higher first)."""

    def __init__(self, scorer: Any, candidates: int) -> None:
        self.scorer = scorer
        self.candidates = candidates

    def rerank(self, message: str, hits: Sequence[KnowledgeHit], k: int) -> list[KnowledgeHit]:
        """The ``k`` best of ``hits`` by the scorer, each hit's ``score`` set to its relevance
        (its similarity and BM25 score kept)."""
        if not hits:
            return []
        passages = [hit.passage.search_text for hit in hits]
        outputs = self.scorer.predict_proba([message] * len(hits), pairs=passages)
        relevance = np.asarray(outputs, dtype=float).reshape(len(hits), -1)[:, -1]
        order = np.argsort(-relevance, kind="stable")[:k]
        return [replace(hits[i], score=float(relevance[i])) for i in order]


def load_reranker(path: Path, settings_file: Path, candidates: int) -> Reranker:
    """The re-ranker of the score bundle at ``path``; anything else (a missing folder, another
    task, a score bundle that reads single texts) is a :class:`SupportProjectError` naming
    ``settings_file``."""
    where = f"{settings_file}: knowledge.rerank_bundle '{path}'"
    try:
        info = read_bundle_info(path)
    except BizlmError as exc:
        problem = f"is not a bundle ({exc.message})"
        raise SupportProjectError(f"{where} {problem}", hint=_WHAT_TO_DO) from None
    if info.task_type != "score":
        problem = f"is a {info.task_type} bundle, not a score bundle: it cannot rank passages."
        raise SupportProjectError(f"{where} {problem}", hint=_WHAT_TO_DO)
    if not (info.recipe.get("task") or {}).get("text_pair_column"):
        problem = "scores single texts; a re-ranker reads (message, passage) pairs."
        raise SupportProjectError(f"{where} {problem}", hint=_WHAT_TO_DO)
    return Reranker(load(path), candidates)
