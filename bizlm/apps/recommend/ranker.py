"""Ranking features per (user, candidate) and the learned model that combines them.

Text: the cross-encoder score and the bi-encoder similarity of profile and item. Behaviour:
popularity, item-based CF over the whole history and over the recent items, and how long ago
anyone last interacted with the item. A logistic regression (standardised features) or a
histogram gradient-boosting classifier learns how much each signal counts.

The cross-encoder is the one expensive signal, so ranking runs in two stages: a shortlist model
fitted on the same rows without the text score picks the ``rerank_top`` candidates worth
cross-encoding, and the full model orders those.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from bizlm.apps.recommend.behaviour import Behaviour
from bizlm.apps.recommend.biencoder import BiEncoder
from bizlm.apps.recommend.pairs import profile_text
from bizlm.apps.recommend.scorer import TextScorer

FEATURES = (
    "text_score",
    "bi_encoder",
    "popularity",
    "collaborative",
    "collaborative_recent",
    "days_since_seen",
)


@dataclass
class TextModels:
    """The two trained text models and what they need to score a user's candidates."""

    scorer: TextScorer
    bi_encoder: BiEncoder
    item_vectors: np.ndarray
    item_texts: list[str]
    recent_items: int

    def profile(self, history: list[int]) -> str:
        """The user's profile text."""
        return profile_text(history, self.item_texts, self.recent_items)

    def similarity(self, history: list[int], candidates: np.ndarray) -> np.ndarray:
        """Bi-encoder dot product of the profile and each candidate."""
        vector = self.bi_encoder.embed([self.profile(history)])[0]
        return self.item_vectors[candidates] @ vector

    def text_scores(self, history: list[int], candidates: np.ndarray) -> np.ndarray:
        """Cross-encoder score of (profile, candidate text)."""
        profile = self.profile(history)
        texts = [self.item_texts[item] for item in candidates.tolist()]
        return self.scorer.score([profile] * len(texts), texts)


def behaviour_features(
    models: TextModels, behaviour: Behaviour, history: list[int], candidates: np.ndarray
) -> np.ndarray:
    """One row per candidate of every feature but the cross-encoder score (FEATURES[1:])."""
    columns = [
        models.similarity(history, candidates),
        behaviour.popularity(candidates),
        behaviour.collaborative(history, candidates),
        behaviour.collaborative_recent(history, candidates),
        behaviour.days_since_seen(candidates),
    ]
    return np.column_stack(columns).astype(np.float64)


def feature_matrix(
    models: TextModels, behaviour: Behaviour, history: list[int], candidates: np.ndarray
) -> np.ndarray:
    """One row of FEATURES per candidate."""
    text = models.text_scores(history, candidates)
    return np.column_stack([text, behaviour_features(models, behaviour, history, candidates)])


@dataclass
class RankerRows:
    """The ranker's training rows: features, 1/0 labels, and the item of each row."""

    features: np.ndarray
    labels: np.ndarray
    items: np.ndarray

    def weights(self, item_users: np.ndarray, debias: float) -> np.ndarray:
        """1 for sampled rows; (1 + users of the item)^-debias for positives, mean 1."""
        weights = np.ones(len(self.labels))
        positive = self.labels == 1
        raw = (1.0 + item_users[self.items[positive]]) ** -debias
        weights[positive] = raw / raw.mean()
        return weights


@dataclass
class Ranker:
    """The ranking model over FEATURES, and the shortlist model over FEATURES[1:]."""

    full: Any
    shortlist: Any

    def score(self, features: np.ndarray) -> np.ndarray:
        """Full-model probability that each row (all FEATURES) is an item the user engages with."""
        return rank_scores(self.full, features)


def fit_ranker(rows: RankerRows, weights: np.ndarray | None, kind: str, seed: int) -> Ranker:
    """Fit both models on rows labelled 1 (held-out item) or 0 (sampled)."""
    full = _fit_model(rows.features, rows.labels, weights, kind, seed)
    shortlist = _fit_model(rows.features[:, 1:], rows.labels, weights, kind, seed)
    return Ranker(full, shortlist)


def _fit_model(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray | None, kind: str, seed: int
) -> Any:
    if kind == "boosting":
        model: Any = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
        )
        return model.fit(features, labels, sample_weight=weights)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(features, labels, logisticregression__sample_weight=weights)


def rank_scores(model: Any, features: np.ndarray) -> np.ndarray:
    """Probability that each row is an item the user engages with."""
    if len(features) == 0:
        return np.zeros(0)
    return model.predict_proba(features)[:, 1]


def rank_candidates(
    ranker: Ranker,
    models: TextModels,
    behaviour: Behaviour,
    history: list[int],
    candidates: np.ndarray,
    rerank_top: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(positions in ``candidates``, best first; their full-model scores).

    With more than ``rerank_top`` candidates, only the shortlist model's best ``rerank_top``
    are cross-encoded, ranked and returned.
    """
    cheap = behaviour_features(models, behaviour, history, candidates)
    keep = np.arange(len(candidates))
    if len(candidates) > rerank_top:
        first = rank_scores(ranker.shortlist, cheap)
        keep = np.sort(np.argsort(-first, kind="stable")[:rerank_top])
    text = models.text_scores(history, candidates[keep])
    scores = ranker.score(np.column_stack([text, cheap[keep]]))
    order = np.argsort(-scores, kind="stable")
    return keep[order], scores[order]


def describe_ranker(ranker: Ranker) -> dict[str, float]:
    """Standardised logistic coefficients per feature of the full model (empty for boosting)."""
    if isinstance(ranker.full, Pipeline):
        coefficients = ranker.full[-1].coef_[0]
        return {name: float(c) for name, c in zip(FEATURES, coefficients, strict=True)}
    return {}


def save_ranker(model: Ranker, path: Path) -> None:
    """Write the fitted models with joblib through a temporary file (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        joblib.dump(model, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_ranker(path: Path) -> Ranker:
    """Read the models written by :func:`save_ranker`."""
    return joblib.load(path)
