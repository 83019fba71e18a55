"""Multi-label, tagging, regression and ranking metrics against hand-computed cases."""

import json
import math

import numpy as np
import pytest
from seqeval.metrics import f1_score as lenient_f1
from sklearn.metrics import ndcg_score, roc_auc_score

from bizlm.metrics.scores import ranking_metrics, regression_metrics
from bizlm.metrics.tasks import entity_metrics, multilabel_metrics, tune_thresholds

LABELS = ["billing", "shipping", "urgent"]
GOLD = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
PROBS = np.array([[0.9, 0.2, 0.4], [0.6, 0.7, 0.1], [0.8, 0.4, 0.2], [0.1, 0.1, 0.35]])


def strict_json(value: dict) -> dict:
    return json.loads(json.dumps(value, allow_nan=False))


def test_multilabel_hand_computed() -> None:
    m = multilabel_metrics(GOLD, PROBS, LABELS, [0.5, 0.5, 0.3])
    # predictions: [1,0,1], [1,1,0], [1,0,0], [0,0,1]
    assert m["n"] == 4
    assert m["per_class"]["billing"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert m["per_class"]["shipping"]["recall"] == 0.5
    assert m["per_class"]["urgent"]["precision"] == 0.5
    assert m["micro_precision"] == pytest.approx(4 / 6)
    assert m["micro_recall"] == pytest.approx(4 / 5)
    assert m["micro_f1"] == pytest.approx(8 / 11)
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3 + 2 / 3) / 3)
    assert m["subset_accuracy"] == 0.25
    assert m["hamming_loss"] == 0.25
    assert m["thresholds"] == {"billing": 0.5, "shipping": 0.5, "urgent": 0.3}
    assert strict_json(m) == m


def test_multilabel_threshold_is_inclusive() -> None:
    m = multilabel_metrics(np.array([[1], [0]]), np.array([[0.5], [0.49]]), ["a"], [0.5])
    assert m["subset_accuracy"] == 1.0


def test_tune_thresholds_picks_f1_best_then_closest_to_half() -> None:
    gold = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    probs = np.array([[0.9, 0.8, 0.9], [0.3, 0.7, 0.1], [0.2, 0.1, 0.1], [0.1, 0.9, 0.1]])
    # label 0: F1 = 1 only for thresholds in (0.2, 0.3] -> 0.25 or 0.3, and 0.3 is nearer 0.5
    # label 1: no positives -> 0.5; label 2: F1 = 1 for 0.15..0.9 -> 0.5 itself
    assert tune_thresholds(gold, probs) == [0.3, 0.5, 0.5]
    tuned = multilabel_metrics(gold[:, :1], probs[:, :1], ["a"], [0.3])
    assert tuned["micro_f1"] == 1.0
    assert multilabel_metrics(gold[:, :1], probs[:, :1], ["a"], [0.5])["micro_f1"] < 1.0


def test_tune_thresholds_equal_distance_tie_takes_lower() -> None:
    gold = np.array([[1], [0]])
    probs = np.array([[0.9], [0.1]])
    assert tune_thresholds(gold, probs, grid=[0.55, 0.45]) == [0.45]


def test_entity_metrics_hand_computed() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    m = entity_metrics(gold, pred)
    assert m["n"] == 2
    assert (m["precision"], m["recall"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_type"]["ORG"]["precision"] == 0.5
    assert m["per_type"]["PER"]["f1"] == 1.0
    assert m["macro_f1"] == pytest.approx((0 + 2 / 3 + 1) / 3)
    assert m["token_accuracy"] == pytest.approx(5 / 6)
    assert strict_json(m) == m


def test_entity_metrics_strict_rejects_i_without_b() -> None:
    gold = [["B-PER", "I-PER", "O"]]
    pred = [["I-PER", "I-PER", "O"]]
    assert lenient_f1(gold, pred) == 1.0  # the default, lenient scheme accepts the span
    m = entity_metrics(gold, pred)
    assert m["f1"] == 0.0
    assert m["token_accuracy"] == pytest.approx(2 / 3)


def test_entity_metrics_partial_span_is_wrong() -> None:
    m = entity_metrics([["B-PER", "I-PER"]], [["B-PER", "O"]])
    assert m["f1"] == 0.0 and m["per_type"]["PER"]["support"] == 1


def test_entity_metrics_without_entities() -> None:
    m = entity_metrics([["O", "O"]], [["O", "O"]])
    assert m["f1"] is None and m["macro_f1"] is None and m["per_type"] == {}
    assert m["token_accuracy"] == 1.0
    assert strict_json(m) == m


def test_regression_hand_computed() -> None:
    m = regression_metrics([1, 2, 3, 4], [1, 2, 3, 5])
    assert m["n"] == 4
    assert m["mse"] == 0.25 and m["rmse"] == 0.5 and m["mae"] == 0.25
    assert m["r2"] == pytest.approx(0.8)
    assert m["spearman"] == pytest.approx(1.0)
    assert m["pearson"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [1, 2, 3, 5])[0, 1])


def test_regression_constant_input_gives_none() -> None:
    m = regression_metrics([1, 2, 3, 4], [2, 2, 2, 2])
    assert m["pearson"] is None and m["spearman"] is None
    assert m["mse"] == 1.5 and m["r2"] == pytest.approx(-0.2)
    constant_gold = regression_metrics([3, 3, 3], [1, 2, 3])
    assert constant_gold["r2"] is None and constant_gold["pearson"] is None
    assert strict_json(m) == m and strict_json(constant_gold) == constant_gold


def test_ranking_known_ndcg_graded() -> None:
    gold, scores = [3, 2, 0, 1], [0.1, 0.9, 0.8, 0.3]
    # order by score: gains 2, 0, 1, 3; ideal: 3, 2, 1, 0
    dcg = 2 + 0 + 1 / math.log2(4) + 3 / math.log2(5)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    m = ranking_metrics(gold, scores, ["u"] * 4)
    assert m["ndcg@10"] == pytest.approx(dcg / ideal)
    assert m["relevance_threshold"] == 1.5  # median of graded gold
    assert m["mrr"] == 1.0  # item 1 (gold 2 >= 1.5) is ranked first
    top2 = ranking_metrics(gold, scores, ["u"] * 4, k=2)
    assert top2["ndcg@2"] == pytest.approx(2 / (3 + 2 / math.log2(3)))


def test_ranking_binary_mrr_auc_and_skipped_groups() -> None:
    gold = [0, 1, 0, 1, 0, 0, 0, 1]
    scores = [0.9, 0.5, 0.1, 0.7, 0.3, 0.4, 0.2, 0.05]
    groups = ["q1", "q1", "q1", "q2", "q2", "q3", "q3", "q4"]
    m = ranking_metrics(gold, scores, groups)
    # q1: relevant item ranked 2nd, beats 1 of 2 negatives; q2: perfect; q3 one class; q4 one item
    assert m["n_groups"] == 4 and m["groups_skipped"] == 2
    assert m["mrr"] == pytest.approx(0.75)
    assert m["auc"] == pytest.approx(0.75)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(3) + 1) / 2)
    assert m["global_auc"] == pytest.approx(8 / 15)
    assert m["relevance_threshold"] == 1.0
    assert strict_json(m) == m


def test_ranking_ties_count_against_relevant_and_threshold_override() -> None:
    assert ranking_metrics([0, 1], [0.5, 0.5], ["g", "g"])["mrr"] == 0.5
    m = ranking_metrics([5, 4, 1, 2], [0.9, 0.1, 0.8, 0.2], ["g"] * 4, relevance_threshold=5)
    assert m["relevance_threshold"] == 5.0 and m["mrr"] == 1.0


def test_ranking_all_groups_skipped_gives_none() -> None:
    m = ranking_metrics([1, 0], [0.3, 0.2], ["a", "b"])
    assert (m["ndcg@10"], m["mrr"], m["auc"]) == (None, None, None)
    assert m["groups_skipped"] == 2 and m["global_auc"] == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: multilabel_metrics(GOLD, PROBS[:3], LABELS, [0.5] * 3), "shape"),
        (lambda: multilabel_metrics(GOLD[0], PROBS[0], LABELS, [0.5] * 3), "2-D"),
        (lambda: multilabel_metrics(GOLD, PROBS, LABELS[:2], [0.5] * 3), "2 labels"),
        (lambda: multilabel_metrics(GOLD, PROBS, LABELS, [0.5] * 2), "2 thresholds"),
        (lambda: multilabel_metrics(GOLD * 2, PROBS, LABELS, [0.5] * 3), "only 0 and 1"),
        (lambda: multilabel_metrics(GOLD, PROBS * 5, LABELS, [0.5] * 3), "not logits"),
        (lambda: multilabel_metrics(GOLD, PROBS, LABELS, [0.5, 0.5, 2]), "thresholds must"),
        (lambda: multilabel_metrics(GOLD[:0], PROBS[:0], LABELS, [0.5] * 3), "zero examples"),
        (lambda: tune_thresholds(GOLD, PROBS, grid=[]), "grid is empty"),
        (lambda: tune_thresholds(GOLD, PROBS, grid=[1.5]), "grid thresholds"),
        (lambda: entity_metrics([["O"]], []), "1 sentences but predictions have 0"),
        (lambda: entity_metrics([], []), "zero sentences"),
        (lambda: entity_metrics([["O", "O"]], [["O"]]), "sentence 0 has 2 gold tags"),
        (lambda: entity_metrics([["S-PER"]], [["O"]]), "gold sentence 0, token 0"),
        (lambda: entity_metrics([["O"]], [["B-"]]), "not IOB2"),
        (lambda: regression_metrics([1, 2], [1]), "gold has 2 values but predicted has 1"),
        (lambda: regression_metrics([], []), "zero examples"),
        (lambda: regression_metrics([[1, 2]], [[1, 2]]), "1-D"),
        (lambda: regression_metrics([1, float("nan")], [1, 2]), "finite"),
        (lambda: ranking_metrics([1, 0], [0.1, 0.2], ["a"]), "groups has 1"),
        (lambda: ranking_metrics([1, 0], [0.1], ["a", "a"]), "scores has 1"),
        (lambda: ranking_metrics([1, 0], [0.1, 0.2], ["a", "a"], k=0), "k must be"),
        (lambda: ranking_metrics([1, -1], [0.1, 0.2], ["a", "a"]), "negative"),
    ],
)
def test_bad_input_is_rejected(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_multilabel_single_label_column() -> None:
    # one column must still be scored as that label, not as a two-class problem
    m = multilabel_metrics(np.array([[1], [0], [0]]), np.array([[0.9], [0.8], [0.1]]), ["a"], [0.5])
    assert m["per_class"]["a"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert (m["micro_precision"], m["micro_recall"]) == (0.5, 1.0)


def test_multilabel_label_never_seen_counts_as_zero() -> None:
    m = multilabel_metrics(
        np.array([[1, 0], [0, 0]]), np.array([[0.9, 0.1], [0.2, 0.1]]), ["a", "b"], [0.5, 0.5]
    )
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["macro_f1"] == 0.5 and m["micro_f1"] == 1.0


def test_ranking_matches_scikit_learn_with_tied_scores() -> None:
    rng = np.random.default_rng(7)
    gold = rng.integers(0, 4, 60).astype(float)
    scores = rng.integers(0, 5, 60).astype(float)  # many ties
    groups = np.repeat(["a", "b", "c"], 20)
    m = ranking_metrics(gold, scores, groups, k=5, relevance_threshold=2)
    rows = [slice(0, 20), slice(20, 40), slice(40, 60)]
    ndcg = [ndcg_score([gold[r]], [scores[r]], k=5) for r in rows]
    auc = [roc_auc_score(gold[r] >= 2, scores[r]) for r in rows]
    assert m["ndcg@5"] == pytest.approx(np.mean(ndcg))
    assert m["auc"] == pytest.approx(np.mean(auc))
    assert m["global_auc"] == pytest.approx(roc_auc_score(gold >= 2, scores))


def test_ranking_sparse_graded_gold_uses_positive_items() -> None:
    # median of all gold is 0, so relevance falls back to gold > 0
    m = ranking_metrics([0, 0, 0, 2, 0, 3], [0.9, 0.1, 0.2, 0.8, 0.3, 0.4], ["u"] * 6)
    assert m["relevance_threshold"] == 0.0
    assert m["groups_skipped"] == 0
    assert m["mrr"] == 0.5  # the best relevant item (0.8) comes second
    assert m["auc"] == pytest.approx(6 / 8)
