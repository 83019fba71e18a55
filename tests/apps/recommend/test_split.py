"""Leave-last-out by time, single-event users, seeded negatives, ranking metrics, item CF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bizlm.apps.recommend.behaviour import Behaviour
from bizlm.apps.recommend.config import RecommendData
from bizlm.apps.recommend.evaluation import Case, rank_cases
from bizlm.apps.recommend.interactions import read_interactions
from bizlm.apps.recommend.split import leave_last_out, sample_negatives
from tests.conftest import write_csv


def test_split_follows_time_not_file_order(tmp_path: Path) -> None:
    items = [{"item": name, "title": f"t {name}"} for name in "abcde"]
    events = [
        {"user": "u1", "item": "c", "timestamp": "30"},
        {"user": "u1", "item": "a", "timestamp": "10"},
        {"user": "u1", "item": "d", "timestamp": "40"},
        {"user": "u1", "item": "b", "timestamp": "20"},
        {"user": "u2", "item": "e", "timestamp": "5"},
        {"user": "u3", "item": "a", "timestamp": "1"},
        {"user": "u3", "item": "b", "timestamp": "2"},
    ]
    config = RecommendData(
        interactions=write_csv(tmp_path / "e.csv", events),
        items=write_csv(tmp_path / "i.csv", items),
    )
    data = read_interactions(config)
    split = leave_last_out(data)
    item = data.item_index()
    u1, u2, u3 = (data.user_index()[u] for u in ("u1", "u2", "u3"))
    assert split.train[u1] == [item["a"], item["b"]]
    assert split.validation[u1] == item["c"] and split.test[u1] == item["d"]
    assert u2 not in split.test and split.train[u2] == [item["e"]]
    assert split.test[u3] == item["b"] and u3 not in split.validation
    assert split.describe()["single_event_users_skipped_from_evaluation"] == 1
    assert split.history_until("test")[u1] == [item["a"], item["b"], item["c"]]


def test_negatives_are_seeded_unseen_and_distinct() -> None:
    seen = {0, 1, 2}
    first = sample_negatives(np.random.default_rng(7), 50, seen, 20)
    again = sample_negatives(np.random.default_rng(7), 50, seen, 20)
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 20 and not seen & set(first.tolist())
    assert sorted(sample_negatives(np.random.default_rng(1), 5, seen, 10).tolist()) == [3, 4]


def test_metrics_of_perfect_and_constant_scorers() -> None:
    cases = [Case(0, [5], np.array([3, 1, 2, 4])), Case(1, [5], np.array([2, 1, 3, 4]))]
    perfect = rank_cases(cases, lambda h, c: (c == c[0]).astype(float), 6, k=1).summary(k=1)
    assert perfect["hr1"] == 1.0 and perfect["ndcg1"] == 1.0 and perfect["auc"] == 1.0
    flat = rank_cases(cases, lambda h, c: np.zeros(len(c)), 6, k=2).summary(k=2)
    assert flat["auc"] == 0.5 and flat["mrr"] == 0.4  # expected rank 1.5 of 0..3
    assert flat["coverage"] == 3 / 6


def test_item_cf_prefers_items_used_together() -> None:
    histories = [[0, 1], [0, 1], [0, 2], [3]]
    behaviour = Behaviour(histories, 4)
    scores = behaviour.collaborative([0], np.array([1, 2, 3]))
    assert scores[0] > scores[1] > scores[2] == 0.0
    assert behaviour.most_popular(2, exclude={0}) == [1, 2]
