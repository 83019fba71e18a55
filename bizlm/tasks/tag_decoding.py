"""Tag sequences from per-word tag probabilities: the most probable valid BIO sequence.

Picking each word's most probable tag on its own can give sequences BIO forbids, such as an
``I-ORG`` after ``O`` or after ``B-LOC``; repairing them afterwards splits or retypes entities.
Instead, a Viterbi search finds the sequence with the highest total log-probability among the
valid ones: an ``I-X`` only right after ``B-X`` or ``I-X``, never first. A :class:`TagPrior`
(how often each tag opens a sentence and follows another in the training data) can add its
weighted log-frequencies to those scores, as the transition scores of a CRF would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_FORBIDDEN = -1e9  # a log-score no valid path comes near
_FLOOR = 1e-12  # keeps log(0) finite


def transition_scores(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(start, transition): 0 where BIO allows a tag first / after another, else forbidden."""
    start = np.zeros(len(tags))
    transition = np.zeros((len(tags), len(tags)))  # [previous, current]
    for current, tag in enumerate(tags):
        if tag.startswith("I-"):
            kind = tag[2:]
            start[current] = _FORBIDDEN
            for previous, before in enumerate(tags):
                if before not in (f"B-{kind}", f"I-{kind}"):
                    transition[previous, current] = _FORBIDDEN
    return start, transition


@dataclass(frozen=True)
class TagPrior:
    """Log-frequencies of the first tag (``start``, per tag) and of each tag after another
    (``transition``, [previous, current]), added to the model's scores times ``weight``."""

    start: np.ndarray
    transition: np.ndarray
    weight: float


def decode(
    probabilities: np.ndarray, tags: Sequence[str], prior: TagPrior | None = None
) -> list[str]:
    """The valid BIO sequence with the highest total log-probability (plus the weighted prior,
    when given); ``probabilities`` is a (words, tags) array."""
    if not len(probabilities):
        return []
    start, transition = transition_scores(tags)
    if prior is not None and prior.weight:
        start = start + prior.weight * prior.start
        transition = transition + prior.weight * prior.transition
    log_probabilities = np.log(probabilities + _FLOOR)
    score = start + log_probabilities[0]
    came_from = np.zeros(probabilities.shape, dtype=int)
    for position in range(1, len(probabilities)):
        candidates = score[:, None] + transition
        came_from[position] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_probabilities[position]
    best = [int(score.argmax())]
    for position in range(len(probabilities) - 1, 0, -1):
        best.append(int(came_from[position][best[-1]]))
    return [tags[index] for index in reversed(best)]
