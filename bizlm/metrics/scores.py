"""Metrics for scoring models: regression (a number per text or pair) and ranking.

Every public function returns plain Python values, so results go straight into
``json.dumps``; an undefined score is ``None``, never ``nan``. Malformed input raises
``ValueError``. Import these from :mod:`bizlm.evaluation` or
:mod:`bizlm.metrics.tasks`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from scipy import stats


def _paired(gold: Sequence[float], other: Sequence[float], name: str) -> tuple[np.ndarray, ...]:
    y = np.asarray(gold, dtype=float)
    x = np.asarray(other, dtype=float)
    if y.ndim != 1 or x.ndim != 1:
        raise ValueError(f"gold and {name} must be 1-D, got shapes {y.shape} and {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"gold has {len(y)} values but {name} has {len(x)}")
    if len(y) == 0:
        raise ValueError("cannot compute metrics on zero examples")
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise ValueError(f"gold and {name} must be finite numbers (found nan or inf)")
    return y, x


def _correlation(kind: str, a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson or Spearman correlation; ``None`` when either side is constant or too short."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    test = stats.pearsonr if kind == "pearson" else stats.spearmanr
    return float(test(a, b)[0])


def regression_metrics(gold: Sequence[float], predicted: Sequence[float]) -> dict[str, Any]:
    """Error and agreement of predicted scores with gold scores.

    ``pearson``/``spearman`` are ``None`` when either side is constant, and ``r2`` is
    ``None`` when gold is constant (all three are undefined there).
    """
    y, x = _paired(gold, predicted, "predicted")
    mse = float(np.mean((y - x) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "n": len(y),
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(y - x))),
        "pearson": _correlation("pearson", y, x),
        "spearman": _correlation("spearman", y, x),
        "r2": 1.0 - float(np.sum((y - x) ** 2)) / total if total > 0 else None,
    }


def _reciprocal_rank(relevant: np.ndarray, scores: np.ndarray) -> float:
    """1 / rank of the best-scored relevant item, ties broken against it."""
    best = scores[relevant].max()
    ahead = np.sum(scores > best) + np.sum((scores == best) & ~relevant)
    return 1.0 / (ahead + 1)


def _ndcg(gains: np.ndarray, scores: np.ndarray, k: int) -> float:
    """NDCG@k with linear gains; tied scores share the discounts of the places they fill.

    The caller makes sure some gain is positive, so the ideal DCG is never 0.
    """
    discount = 1 / np.log2(np.arange(2, len(gains) + 2))
    discount[k:] = 0
    _, block, size = np.unique(-scores, return_inverse=True, return_counts=True)
    starts = np.concatenate(([0], np.cumsum(size)[:-1]))
    dcg = (np.bincount(block, weights=gains) / size) @ np.add.reduceat(discount, starts)
    return float(dcg / (np.sort(gains)[::-1] @ discount))


def _auc(relevant: np.ndarray, scores: np.ndarray) -> float:
    """Share of (relevant, other) pairs that the scores order correctly, ties counting half."""
    positives = int(relevant.sum())
    rank_sum = stats.rankdata(scores)[relevant].sum()
    return float(
        (rank_sum - positives * (positives + 1) / 2) / (positives * (len(scores) - positives))
    )


def ranking_metrics(
    gold: Sequence[float],
    scores: Sequence[float],
    groups: Sequence[Hashable],
    k: int = 10,
    relevance_threshold: float | None = None,
) -> dict[str, Any]:
    """Ranking quality of ``scores`` within each group (a user, a query …).

    ``ndcg@k`` uses the gold values as linear graded gains; items with tied scores share the
    discounts of the places they fill (as scikit-learn's ``ndcg_score`` does). MRR and AUC
    need relevant and non-relevant items. When gold holds only 0 and 1, relevant means
    gold > 0; otherwise it means gold >= ``relevance_threshold``, by default the median of
    all gold values (an item with gold 0 is never relevant, so sparse graded gold with a
    median of 0 falls back to gold > 0). MRR breaks score ties against the relevant item;
    AUC counts ties as half right. The three scores average over the groups that hold at
    least two items, both relevant and not; the others are counted in ``groups_skipped``
    (a score is ``None`` when every group was skipped). ``global_auc`` pools every item,
    ignoring groups. ``relevance_threshold`` in the result is the threshold applied.
    """
    y, s = _paired(gold, scores, "scores")
    if len(groups) != len(y):
        raise ValueError(f"gold has {len(y)} values but groups has {len(groups)}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if y.min() < 0:
        raise ValueError("gold relevance must not be negative (it is used as the NDCG gain)")
    if relevance_threshold is None:
        binary = bool(np.isin(y, (0, 1)).all())
        relevance_threshold = 1.0 if binary else float(np.median(y))
    relevant = (y >= relevance_threshold) & (y > 0)
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    per_group = []  # (NDCG@k, reciprocal rank, AUC) of each usable group
    for rows in members.values():
        hits = relevant[rows]
        if len(rows) > 1 and hits.any() and not hits.all():
            scored = (
                _ndcg(y[rows], s[rows], k),
                _reciprocal_rank(hits, s[rows]),
                _auc(hits, s[rows]),
            )
            per_group.append(scored)
    means = [float(m) for m in np.mean(per_group, axis=0)] if per_group else [None] * 3
    both_classes = relevant.any() and not relevant.all()
    return {
        "n": len(y),
        "n_groups": len(members),
        f"ndcg@{k}": means[0],
        "mrr": means[1],
        "auc": means[2],
        "global_auc": _auc(relevant, s) if both_classes else None,
        "relevance_threshold": float(relevance_threshold),
        "groups_skipped": len(members) - len(per_group),
    }
