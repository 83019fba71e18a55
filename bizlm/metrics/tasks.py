"""Metrics for multi-label classification, token tagging, regression and ranking.

Like :mod:`bizlm.metrics.classification`, every public function returns plain Python values
(``int``/``float``/``None``/``list``/``dict``), so results go straight into ``json.dumps``;
an undefined score is ``None``, never ``nan``. Malformed input raises ``ValueError``.
The scoring metrics live in :mod:`bizlm.metrics.scores` and are importable here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from bizlm.metrics.scores import ranking_metrics, regression_metrics

__all__ = [
    "entity_metrics",
    "multilabel_metrics",
    "ranking_metrics",
    "regression_metrics",
    "tune_thresholds",
]

_TAG_PREFIX = re.compile(r"[BI]-.")
DEFAULT_GRID = tuple(round(0.05 * step, 2) for step in range(1, 20))


def _indicator_matrices(gold: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, ...]:
    """Check a 0/1 gold matrix and a same-shaped probability matrix; return them as arrays."""
    y = np.asarray(gold)
    probs = np.asarray(probabilities, dtype=float)
    if y.ndim != 2 or probs.ndim != 2:
        raise ValueError(
            f"gold and probabilities must be 2-D (n, n_labels), got {y.shape} and {probs.shape}"
        )
    if y.shape != probs.shape:
        raise ValueError(f"gold has shape {y.shape} but probabilities has shape {probs.shape}")
    if y.shape[0] == 0:
        raise ValueError("cannot compute metrics on zero examples")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("gold must hold only 0 and 1 (one column per label)")
    if not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
        raise ValueError("probabilities must lie in [0, 1]: pass sigmoid outputs, not logits")
    return y.astype(bool), probs


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ``numerator / denominator``, 0 where the denominator is 0."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    return np.divide(num, den, out=np.zeros(num.shape), where=den > 0)


def _label_scores(gold: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, ...]:
    """Precision, recall, F1 and support of each column of boolean matrices (0 if undefined)."""
    tp = (gold & predicted).sum(axis=0)
    fp = (~gold & predicted).sum(axis=0)
    fn = (gold & ~predicted).sum(axis=0)
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn), tp + fn


def multilabel_metrics(
    gold: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
    thresholds: Sequence[float],
) -> dict[str, Any]:
    """Score sigmoid outputs against a 0/1 gold matrix, one column per label.

    A label is predicted when its probability is at least its threshold. Micro scores pool
    every (example, label) decision; ``macro_f1`` averages over *all* labels, a label absent
    from both gold and predictions counting as 0. ``subset_accuracy`` is the share of examples
    whose whole label set is exactly right; ``hamming_loss`` the share of wrong decisions.
    """
    y, probs = _indicator_matrices(gold, probabilities)
    cuts = np.asarray(thresholds, dtype=float).reshape(-1)
    if not len(labels) == len(cuts) == y.shape[1]:
        raise ValueError(
            f"gold has {y.shape[1]} label columns but there are {len(labels)} labels and "
            f"{len(cuts)} thresholds"
        )
    if not np.isfinite(cuts).all() or cuts.min() < 0 or cuts.max() > 1:
        raise ValueError(f"thresholds must lie in [0, 1], got {cuts.tolist()}")
    predicted = probs >= cuts
    precision, recall, f1, support = _label_scores(y, predicted)
    micro_p, micro_r, micro_f1, _ = _label_scores(y.reshape(-1), predicted.reshape(-1))
    return {
        "n": int(y.shape[0]),
        "micro_f1": float(micro_f1),
        "macro_f1": float(np.mean(f1)),
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "subset_accuracy": float((predicted == y).all(axis=1).mean()),
        "hamming_loss": float((predicted != y).mean()),
        "per_class": {
            str(label): _item_scores(precision[i], recall[i], f1[i], support[i])
            for i, label in enumerate(labels)
        },
        "thresholds": {str(label): float(cuts[i]) for i, label in enumerate(labels)},
    }


def tune_thresholds(
    gold: np.ndarray, probabilities: np.ndarray, grid: Sequence[float] | None = None
) -> list[float]:
    """Pick, per label, the grid threshold that maximises that label's F1 on validation data.

    The default grid is 0.05, 0.10, …, 0.95. Among equally good thresholds the one closest
    to 0.5 wins (the lower one if two are equally close); a label with no positive example
    keeps 0.5, since its F1 cannot guide the choice.
    """
    y, probs = _indicator_matrices(gold, probabilities)
    candidates = np.asarray(DEFAULT_GRID if grid is None else grid, dtype=float).reshape(-1)
    if candidates.size == 0:
        raise ValueError("the threshold grid is empty")
    if not np.isfinite(candidates).all() or candidates.min() < 0 or candidates.max() > 1:
        raise ValueError(f"grid thresholds must lie in [0, 1], got {candidates.tolist()}")
    # scores[g, j]: F1 of label j when every label uses threshold candidates[g]
    scores = np.stack([_label_scores(y, probs >= t)[2] for t in candidates])
    distance = np.round(np.abs(candidates - 0.5), 9)  # rounded so 0.45 and 0.55 tie
    preference = np.lexsort((candidates, distance))  # closest to 0.5 first, then lower
    chosen = []
    for j in range(y.shape[1]):
        if not y[:, j].any():
            chosen.append(0.5)
            continue
        best = scores[:, j].max()
        chosen.append(next(float(candidates[g]) for g in preference if scores[g, j] >= best))
    return chosen


def _item_scores(precision: float, recall: float, f1: float, support: int) -> dict[str, Any]:
    """One row of a per-label or per-type table, as plain values."""
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "support": int(support),
    }


def _token_accuracy(gold_tags: list[list[str]], predicted_tags: list[list[str]]) -> float | None:
    """Check that both sides are aligned IOB2 tag lists; return the share of equal tags."""
    if len(gold_tags) != len(predicted_tags):
        raise ValueError(
            f"gold has {len(gold_tags)} sentences but predictions have {len(predicted_tags)}"
        )
    if not gold_tags:
        raise ValueError("cannot compute metrics on zero sentences")
    tokens = correct = 0
    for s, (gold, predicted) in enumerate(zip(gold_tags, predicted_tags, strict=True)):
        if len(gold) != len(predicted):
            raise ValueError(
                f"sentence {s} has {len(gold)} gold tags but {len(predicted)} predicted tags"
            )
        for side, tags in (("gold", gold), ("predicted", predicted)):
            for t, tag in enumerate(tags):
                if not (isinstance(tag, str) and (tag == "O" or _TAG_PREFIX.match(tag))):
                    raise ValueError(
                        f"{side} sentence {s}, token {t}: tag {tag!r} is not IOB2 "
                        "(use 'O', 'B-TYPE' or 'I-TYPE')"
                    )
        tokens += len(gold)
        correct += sum(g == p for g, p in zip(gold, predicted, strict=True))
    return correct / tokens if tokens else None


def entity_metrics(gold_tags: list[list[str]], predicted_tags: list[list[str]]) -> dict[str, Any]:
    """Entity-level scores of IOB2 tag sequences (seqeval, strict mode).

    An entity counts only when its type and exact span match, and a span must open with
    ``B-``: a stray ``I-PER`` is not an entity. ``f1``/``precision``/``recall`` are micro
    averages over entities, ``macro_f1`` averages over the entity types present in gold or
    predictions, and ``token_accuracy`` is the share of tokens tagged exactly right. With no
    entity in gold or predictions the entity scores are ``None``.
    """
    result: dict[str, Any] = {
        "n": len(gold_tags),
        "f1": None,
        "precision": None,
        "recall": None,
        "macro_f1": None,
        "per_type": {},
        "token_accuracy": _token_accuracy(gold_tags, predicted_tags),
    }
    if all(tag == "O" for sentence in [*gold_tags, *predicted_tags] for tag in sentence):
        return result
    report = classification_report(
        gold_tags, predicted_tags, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )
    micro, macro = report.pop("micro avg"), report.pop("macro avg")
    del report["weighted avg"]
    result.update(
        f1=float(micro["f1-score"]),
        precision=float(micro["precision"]),
        recall=float(micro["recall"]),
        macro_f1=float(macro["f1-score"]),
        per_type={
            str(kind): _item_scores(v["precision"], v["recall"], v["f1-score"], v["support"])
            for kind, v in report.items()
        },
    )
    return result
