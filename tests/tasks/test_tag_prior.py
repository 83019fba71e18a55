"""The tag prior: tag-sequence frequencies from training data, weighted on validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bizlm.tasks.tag_decoding import TagPrior, decode
from bizlm.tasks.tag_prior import WEIGHTS, count_prior, prior_from_json, prior_to_json, tune_prior

TAGS = ["O", "B-PER", "I-PER"]
# Training data where a person is always two words long.
TRAIN = [["B-PER", "I-PER", "O"], ["O", "B-PER", "I-PER"], ["O", "O"]]
# The model opens the person, then leans a little to O for its second word.
UNSURE = np.array([[0.1, 0.8, 0.1], [0.55, 0.05, 0.40], [0.9, 0.05, 0.05]])


def test_prior_counts_first_tags_and_bigrams_with_add_one_smoothing() -> None:
    prior = count_prior(TRAIN, TAGS)
    # first tags: O twice, B-PER once, plus one each -> 3/6, 2/6, 1/6
    assert np.exp(prior.start) == pytest.approx([3 / 6, 2 / 6, 1 / 6])
    # after B-PER: I-PER twice -> (1, 1, 3) / 5
    assert np.exp(prior.transition[1]) == pytest.approx([1 / 5, 1 / 5, 3 / 5])
    assert np.exp(prior.transition).sum(axis=1) == pytest.approx([1, 1, 1])


def test_a_weighted_prior_can_change_the_decoded_sequence() -> None:
    prior = count_prior(TRAIN, TAGS)
    assert decode(UNSURE, TAGS) == ["B-PER", "O", "O"]
    assert decode(UNSURE, TAGS, TagPrior(prior.start, prior.transition, 1.0)) == [
        "B-PER",
        "I-PER",
        "O",
    ]
    assert decode(UNSURE, TAGS, TagPrior(prior.start, prior.transition, 0.0)) == [
        "B-PER",
        "O",
        "O",
    ]


def test_tuning_keeps_the_prior_only_where_it_helps_validation() -> None:
    prior = count_prior(TRAIN, TAGS)
    helped, scores = tune_prior(prior, [UNSURE], [["B-PER", "I-PER", "O"]], TAGS)
    assert helped.weight > 0 and scores[helped.weight] == 1.0 and scores[0.0] == 0.0
    assert set(scores) == set(WEIGHTS)
    # gold agrees with the model alone: every weight that keeps it ties, and 0 wins the tie
    kept, scores = tune_prior(prior, [UNSURE], [["B-PER", "O", "O"]], TAGS)
    assert kept.weight == 0.0 and scores[0.0] == 1.0


def test_a_saved_prior_reads_back_the_same() -> None:
    counted = count_prior(TRAIN, TAGS)
    tuned = TagPrior(counted.start, counted.transition, 0.25)
    saved = json.loads(json.dumps(prior_to_json(tuned, {0.0: 0.5, 0.25: 0.75})))
    restored = prior_from_json(saved)
    assert restored is not None and restored.weight == 0.25
    assert restored.transition == pytest.approx(tuned.transition, abs=1e-6)
    assert saved["validation_f1_by_weight"] == {"0.0": 0.5, "0.25": 0.75}
    assert prior_from_json(None) is None and prior_from_json({}) is None
