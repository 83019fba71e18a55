"""Ranking features per (user, candidate) and the learned model that combines them.

Text: the cross-encoder score and the bi-encoder similarity of profile and item. Behaviour:
popularity, item-based CF over the whole history and over the recent items, and how long ago
anyone last interacted with the item. A logistic regression (standardised features) or a
histogram gradient-boosting classifier learns how much each signal counts.
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


def feature_matrix(
    models: TextModels, behaviour: Behaviour, history: list[int], candidates: np.ndarray
) -> np.ndarray:
    """One row of FEATURES per candidate."""
    columns = [
        models.text_scores(history, candidates),
        models.similarity(history, candidates),
        behaviour.popularity(candidates),
        behaviour.collaborative(history, candidates),
        behaviour.collaborative_recent(history, candidates),
        behaviour.days_since_seen(candidates),
    ]
    return np.column_stack(columns).astype(np.float64)


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


def fit_ranker(rows: RankerRows, weights: np.ndarray | None, kind: str, seed: int) -> Any:
    """Fit the ranking model on rows labelled 1 (held-out item) or 0 (sampled)."""
    if kind == "boosting":
        model: Any = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=seed
        )
        return model.fit(rows.features, rows.labels, sample_weight=weights)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(rows.features, rows.labels, logisticregression__sample_weight=weights)


def rank_scores(model: Any, features: np.ndarray) -> np.ndarray:
    """Probability that each row is an item the user engages with."""
    if len(features) == 0:
        return np.zeros(0)
    return model.predict_proba(features)[:, 1]


def describe_ranker(model: Any) -> dict[str, float]:
    """Standardised logistic coefficients per feature (empty for boosting)."""
    if isinstance(model, Pipeline):
        coefficients = model[-1].coef_[0]
        return {name: float(c) for name, c in zip(FEATURES, coefficients, strict=True)}
    return {}


def save_ranker(model: Any, path: Path) -> None:
    """Write the fitted model with joblib through a temporary file (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        joblib.dump(model, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_ranker(path: Path) -> Any:
    """Read a model written by :func:`save_ranker`."""
    return joblib.load(path)
