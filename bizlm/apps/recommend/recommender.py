"""Rank items for a known user, or for a new user given the items they just used.

Without a candidate list, candidates come from the bi-encoder index (nearest items to the
profile), the item-based CF and the most popular items; the ranker orders them. Each result
names the user's recent items closest to it in the bi-encoder space ("because you used ...").
A user with no history at all gets the most popular items, flagged ``cold_start``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.recommend.behaviour import Behaviour, last_seen_times
from bizlm.apps.recommend.biencoder import BiEncoder, nearest_items
from bizlm.apps.recommend.config import RecommendRecipe, load_recommend_recipe
from bizlm.apps.recommend.interactions import read_interactions
from bizlm.apps.recommend.layout import AppLayout
from bizlm.apps.recommend.ranker import TextModels, load_ranker, rank_candidates
from bizlm.apps.recommend.scorer import TextScorer
from bizlm.apps.recommend.split import user_histories
from bizlm.errors import DataError

EXPLAINING_ITEMS = 2
_EXPLAIN_FROM = 10


@dataclass
class Request:
    """What to rank for whom."""

    user: str | None = None
    recent_items: list[str] = field(default_factory=list)
    candidates: list[str] | None = None
    k: int = 10
    exclude_seen: bool = True


class Recommender:
    """A trained application, loaded for ranking."""

    def __init__(self, folder: Path) -> None:
        layout = AppLayout(Path(folder))
        self.recipe: RecommendRecipe = load_recommend_recipe(layout.root)
        layout.check_trained()
        data = read_interactions(self.recipe.data)
        self.item_ids = data.item_ids
        self.item_texts = data.item_texts
        self.item_of = data.item_index()
        self.user_of = data.user_index()
        self.histories, times = user_histories(data)
        recent = self.recipe.sampling.recent_items
        count = len(self.item_ids)
        self.behaviour = Behaviour(
            self.histories, count, last_seen_times(self.histories, times, count), recent
        )
        bi_encoder, vectors = BiEncoder.from_bundle(layout.bi_encoder, data.item_ids)
        self.models = TextModels(
            TextScorer(layout.scorer), bi_encoder, vectors, data.item_texts, recent
        )
        self.ranker = load_ranker(layout.ranker)

    def recommend(self, request: Request) -> dict[str, Any]:
        """The top ``k`` items with scores and explaining recent items (see the module doc)."""
        if request.k < 1:
            raise DataError(f"k must be 1 or more, not {request.k}.")
        known = request.user is not None and request.user in self.user_of
        history = list(self.histories[self.user_of[request.user]]) if known else []
        recent, unknown_recent = self._resolve(request.recent_items)
        history += [item for item in recent if item not in history]
        seen = set(history) if request.exclude_seen else set()
        answer: dict[str, Any] = {"user": request.user, "known_user": known}
        ignored: dict[str, Any] = {}
        if unknown_recent:
            ignored["unknown_recent_items"] = unknown_recent
        if request.candidates is not None:
            candidates, unknown = self._resolve(request.candidates)
            if unknown:
                ignored["unknown_candidates"] = unknown
            if not candidates:
                raise DataError(
                    f"None of the {len(request.candidates)} candidates is in the items file.",
                    hint="Give item ids from the application's items file.",
                )
            kept = [item for item in dict.fromkeys(candidates) if item not in seen]
            ignored["seen_candidates"] = len(set(candidates)) - len(kept)
        else:
            kept = self._generate(history, seen) if history else []
        if not history:
            pool = kept or self.behaviour.most_popular(request.k, seen)
            order = sorted(pool, key=lambda item: -self.behaviour.counts[item])[: request.k]
            results = [self._result(item, float(self.behaviour.counts[item]), []) for item in order]
            return {**answer, "cold_start": True, "items": results, "ignored": ignored}
        positions, scores = rank_candidates(
            self.ranker,
            self.models,
            self.behaviour,
            history,
            np.array(kept, dtype=np.int64),
            max(self.recipe.ranker.rerank_top, request.k),
        )
        results = [
            self._result(kept[p], float(score), self._because(kept[p], history))
            for p, score in zip(positions[: request.k], scores[: request.k], strict=True)
        ]
        return {
            **answer,
            "cold_start": False,
            "candidates": len(kept),
            "items": results,
            "ignored": ignored,
        }

    def _resolve(self, item_ids: list[str]) -> tuple[list[int], list[str]]:
        known = [self.item_of[item] for item in item_ids if item in self.item_of]
        return known, [item for item in item_ids if item not in self.item_of]

    def _generate(self, history: list[int], seen: set[int]) -> list[int]:
        config = self.recipe
        vector = self.models.bi_encoder.embed([self.models.profile(history)])[0]
        pool = nearest_items(vector, self.models.item_vectors, config.bi_encoder.candidates, seen)
        cf = self.behaviour.collaborative(history, np.arange(len(self.item_ids)))
        by_cf = [int(i) for i in np.argsort(-cf, kind="stable") if int(i) not in seen]
        pool += by_cf[: config.ranker.collaborative_candidates]
        pool += self.behaviour.most_popular(config.ranker.popular_candidates, seen)
        return list(dict.fromkeys(pool))

    def _because(self, item: int, history: list[int]) -> list[dict[str, Any]]:
        recent = list(dict.fromkeys(reversed(history[-_EXPLAIN_FROM:])))
        vectors = self.models.item_vectors
        similarity = vectors[recent] @ vectors[item]
        order = np.argsort(-similarity, kind="stable")[:EXPLAINING_ITEMS]
        return [
            {
                "item": self.item_ids[recent[i]],
                "text": self.item_texts[recent[i]],
                "similarity": round(float(similarity[i]), 4),
            }
            for i in order
        ]

    def _result(self, item: int, score: float, because: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "item": self.item_ids[item],
            "text": self.item_texts[item],
            "score": score,
            "because": because,
        }
