"""How well the FAQ index finds labelled queries, and the BM25 weight chosen from them.

A project may hold ``faq_queries.jsonl``: messages written the way customers ask, each with the
id of the FAQ entry that answers it. Training tries each weight of :data:`BM25_WEIGHTS` for the
BM25 ranking in the fusion and keeps the one with the best mean reciprocal rank; among equal
ones, the largest (plain reciprocal-rank fusion is weight 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bizlm.apps.support.faq_files import FaqQuery
from bizlm.apps.support.retrieval import FaqIndex, Mode, QueryScores

BM25_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


def gold_ranks(
    index: FaqIndex,
    queries: Sequence[FaqQuery],
    mode: Mode,
    bm25_weight: float,
    scored: Sequence[QueryScores] | None = None,
) -> np.ndarray:
    """1-based rank of each query's answering entry, as ``search`` orders the entries."""
    positions = {entry.id: i for i, entry in enumerate(index.entries)}
    scored = scored if scored is not None else [index.scores(q.question) for q in queries]
    ranks = []
    for query, per_entry in zip(queries, scored, strict=True):
        order = np.argsort(-per_entry.fused(mode, index.rrf_k, bm25_weight), kind="stable")
        ranks.append(int(np.flatnonzero(order == positions[query.faq_id])[0]) + 1)
    return np.array(ranks)


def rank_metrics(ranks: np.ndarray) -> dict[str, float]:
    """hit@1, hit@5 and mean reciprocal rank."""
    return {
        "hit_at_1": float(np.mean(ranks <= 1)),
        "hit_at_5": float(np.mean(ranks <= 5)),
        "mrr": float(np.mean(1.0 / ranks)),
    }


def tune_bm25_weight(index: FaqIndex, queries: Sequence[FaqQuery]) -> dict[str, Any]:
    """The BM25 weight with the best MRR on the queries, and the MRR of every weight tried."""
    scored = [index.scores(q.question) for q in queries]
    mrr = {
        weight: float(np.mean(1.0 / gold_ranks(index, queries, "hybrid", weight, scored)))
        for weight in BM25_WEIGHTS
    }
    best = max(mrr.values())
    chosen = max(weight for weight, value in mrr.items() if value >= best - 1e-12)
    return {"bm25_weight": chosen, "queries": len(queries), "mrr_by_weight": mrr}
