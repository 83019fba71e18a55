"""The sampled leave-last-out protocol: the held-out item against sampled negatives.

For each evaluated user the candidates are the held-out item and N items the user never
interacted with (seeded). A scorer ranks them; ties count half (the expected rank under a
random tie-break), so a constant score earns chance figures, not perfect ones. HR@k, NDCG@k,
MRR and AUC are averaged over users; coverage is the share of the catalog that appears in
some user's top k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bizlm.apps.recommend.split import sample_negatives

Scorer = Callable[[list[int], np.ndarray], np.ndarray]


@dataclass
class Case:
    """One evaluated user: history before the held-out item, candidates (held-out item first)."""

    user: int
    history: list[int]
    candidates: np.ndarray


def build_cases(
    histories: list[list[int]],
    held_out: dict[int, int],
    users: list[int],
    item_count: int,
    negatives: int,
    rng: np.random.Generator,
) -> list[Case]:
    """One case per user that has a held-out item and some history before it."""
    cases = []
    for user in users:
        if user not in held_out or not histories[user]:
            continue
        seen = {*histories[user], held_out[user]}
        sampled = sample_negatives(rng, item_count, seen, negatives)
        cases.append(Case(user, histories[user], np.concatenate([[held_out[user]], sampled])))
    return cases


@dataclass
class Ranking:
    """Where the held-out item landed for each case, and each case's top k."""

    ranks: np.ndarray  # expected 0-based rank of the held-out item
    below: np.ndarray  # share of negatives scored below it (ties half): per-user AUC
    top: list[list[int]]
    item_count: int

    def summary(self, k: int = 10, mask: np.ndarray | None = None) -> dict[str, float]:
        """HR@k, NDCG@k, MRR, AUC (and coverage) over the cases selected by ``mask``."""
        selected = np.ones(len(self.ranks), bool) if mask is None else mask
        ranks = self.ranks[selected]
        if len(ranks) == 0:
            return {"users": 0}
        hits = ranks < k
        covered = {
            item for case, keep in zip(self.top, selected, strict=True) if keep for item in case
        }
        return {
            "users": len(ranks),
            f"hr{k}": float(hits.mean()),
            f"ndcg{k}": float(np.where(hits, 1.0 / np.log2(ranks + 2.0), 0.0).mean()),
            "mrr": float((1.0 / (ranks + 1.0)).mean()),
            "auc": float(self.below[selected].mean()),
            "coverage": len(covered) / self.item_count,
        }


def rank_cases(cases: list[Case], scorer: Scorer, item_count: int, k: int = 10) -> Ranking:
    """Score every case's candidates and record where the held-out item ranks."""
    return rank_scored(cases, [scorer(c.history, c.candidates) for c in cases], item_count, k)


def rank_scored(
    cases: list[Case], scores: list[np.ndarray], item_count: int, k: int = 10
) -> Ranking:
    """Where the held-out item ranks, given each case's candidate scores."""
    ranks, below, top = [], [], []
    for case, case_scores in zip(cases, scores, strict=True):
        values = np.asarray(case_scores, dtype=np.float64)
        positive, negatives = values[0], values[1:]
        greater = float((negatives > positive).sum())
        equal = float((negatives == positive).sum())
        ranks.append(greater + equal / 2)
        below.append(((negatives < positive).sum() + equal / 2) / max(len(negatives), 1))
        order = np.argsort(-values, kind="stable")[:k]
        top.append([int(case.candidates[i]) for i in order])
    return Ranking(np.array(ranks), np.array(below), top, item_count)
