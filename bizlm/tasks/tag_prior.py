"""The tag prior of a tagger: tag-sequence frequencies from its training data, weighted on
validation.

A token classifier scores each word's tags from the words around it, but never sees the tags it
gave the neighbours, so it can open an entity it then leaves one word short. How often each tag
follows another in the training data adds that knowledge at decoding time. Its weight is chosen
after training: the one of :data:`WEIGHTS` with the best entity F1 on validation (0 turns the
prior off, and wins every tie, so the prior stays only where it helps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np

from bizlm.metrics.tasks import entity_metrics
from bizlm.tasks.tag_decoding import TagPrior, decode

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)


def count_prior(sequences: Sequence[Sequence[str]], tags: Sequence[str]) -> TagPrior:
    """Add-one-smoothed log-frequencies of first tags and tag bigrams in ``sequences``."""
    index = {tag: i for i, tag in enumerate(tags)}
    start = np.ones(len(tags))
    transition = np.ones((len(tags), len(tags)))
    for sequence in sequences:
        ids = [index[tag] for tag in sequence]
        if ids:
            start[ids[0]] += 1
        for previous, current in pairwise(ids):
            transition[previous, current] += 1
    return TagPrior(
        start=np.log(start / start.sum()),
        transition=np.log(transition / transition.sum(axis=1, keepdims=True)),
        weight=1.0,
    )


def tune_prior(
    prior: TagPrior,
    probabilities: Sequence[np.ndarray],
    gold: Sequence[Sequence[str]],
    tags: Sequence[str],
) -> tuple[TagPrior, dict[float, float]]:
    """``prior`` at the weight with the best entity F1 on the given sentences; and the F1 of
    every weight tried."""
    scores = {}
    for weight in WEIGHTS:
        predicted = [decode(p, tags, replace(prior, weight=weight)) for p in probabilities]
        scores[weight] = entity_metrics([list(g) for g in gold], predicted)["f1"] or 0.0
    best = max(WEIGHTS, key=lambda weight: (scores[weight], -weight))
    return replace(prior, weight=best), scores


def prior_to_json(prior: TagPrior, scores: dict[float, float]) -> dict[str, Any]:
    """The prior as saved in a bundle's calibration, with the validation F1 of each weight."""
    return {
        "weight": prior.weight,
        "start": prior.start.round(6).tolist(),
        "transition": prior.transition.round(6).tolist(),
        "validation_f1_by_weight": {str(weight): f1 for weight, f1 in scores.items()},
    }


def prior_from_json(saved: dict[str, Any] | None) -> TagPrior | None:
    """The prior a bundle saved, or None when it has none."""
    if not saved:
        return None
    return TagPrior(
        start=np.asarray(saved["start"], dtype=float),
        transition=np.asarray(saved["transition"], dtype=float),
        weight=float(saved["weight"]),
    )
