"""HTML report for multi-label, tagging and scoring metrics: right tables, no classifier extras."""

import numpy as np
import pytest

from bizlm.evaluation import (
    classification_metrics,
    entity_metrics,
    multilabel_metrics,
    ranking_metrics,
    regression_metrics,
    render_report,
)
from bizlm.evaluation.metric_tables import headline_keys, scalar_metrics

TAG_GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
TAG_PRED = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
ML_LABELS = ["billing", "ship<ping>", "urgent"]
ML_GOLD = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
ML_PROBS = np.array([[0.9, 0.2, 0.4], [0.6, 0.7, 0.1], [0.8, 0.4, 0.2], [0.1, 0.1, 0.35]])
HISTORY = [{"step": 5, "train_loss": 0.9}, {"step": 10, "val_loss": 0.7, "val_f1": 0.4}]


@pytest.fixture(scope="module")
def tag_metrics() -> dict:
    return entity_metrics(TAG_GOLD, TAG_PRED)


@pytest.fixture(scope="module")
def multilabel() -> dict:
    return multilabel_metrics(ML_GOLD, ML_PROBS, ML_LABELS, [0.5, 0.5, 0.3])


@pytest.fixture(scope="module")
def scoring() -> dict:
    regression = regression_metrics([1, 2, 3, 4], [2, 2, 2, 2])  # constant: pearson is None
    ranking = ranking_metrics([0, 1, 0, 1], [0.9, 0.5, 0.3, 0.7], ["q1", "q1", "q2", "q2"])
    return {**regression, **ranking}


def render(metrics: dict, labels: list[str], task: str, history: list[dict]) -> str:
    return render_report(
        title="run", metrics=metrics, labels=labels, history=history, summary={"task": task}
    )


def assert_no_classifier_extras(page: str) -> None:
    assert "Confusion matrix" not in page and "confusion matrix" not in page
    assert "Reliability diagram" not in page


def test_tag_report(tag_metrics: dict) -> None:
    page = render(tag_metrics, ["B-LOC", "B-ORG", "B-PER", "I-PER", "O"], "tag", HISTORY)
    assert "Per-entity-type scores" in page and 'class="per-type"' in page
    assert 'class="per-class"' not in page  # the tag list does not make a per-class table
    assert "<th>LOC</th>" in page and "<th>PER</th>" in page
    assert "Entity F1 (micro)" in page and "0.6667" in page
    assert "Token accuracy" in page and "0.8333" in page
    assert page.count("data:image/png;base64,") == 1  # learning curves only
    assert 'class="thresholds"' not in page
    assert_no_classifier_extras(page)


def test_multilabel_report(multilabel: dict) -> None:
    page = render(multilabel, ML_LABELS, "classify", [])
    assert 'class="per-class"' in page and "<th>ship&lt;ping&gt;</th>" in page
    assert "Micro-F1" in page and f"{8 / 11:.4f}" in page
    assert "Subset accuracy (exact match)" in page and "Hamming loss" in page
    assert 'class="thresholds"' in page and "0.3000" in page
    assert "No training history" in page
    assert "data:image/png" not in page
    assert_no_classifier_extras(page)


def test_regression_and_ranking_report(scoring: dict) -> None:
    page = render(scoring, [], "score", HISTORY)
    for text in ("RMSE", "MAE", "Spearman rho", "NDCG@10", "MRR", "AUC (all items)"):
        assert text in page
    assert '<th>Pearson r</th><td class="num">n/a</td>' in page
    assert "Groups skipped (one item or one class)" in page
    assert "per-class" not in page and "per-type" not in page and "thresholds" not in page
    assert_no_classifier_extras(page)


def test_classification_report_keeps_its_sections() -> None:
    probs = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    page = render(classification_metrics([0, 1, 1], probs, ["a", "b"]), ["a", "b"], "classify", [])
    assert "<h2>Confusion matrix</h2>" in page and "<h2>Reliability diagram</h2>" in page
    assert 'class="per-class"' in page and "Log loss" in page


def test_bundle_metrics_list_only_headline_scalars(scoring: dict) -> None:
    # a bundle keeps its validation scores nested beside the test scores, plus text
    bundle = {**scoring, "evaluated_on": "test", "validation": {"mse": 9.0}, "flag": True}
    assert [key for key, _ in scalar_metrics(bundle)] == list(scoring)
    page = render(bundle, [], "score", [])
    assert "9.0000" not in page and "<th>validation</th>" not in page


def test_headline_keys_per_task(tag_metrics: dict, multilabel: dict, scoring: dict) -> None:
    probs = np.array([[0.7, 0.3], [0.2, 0.8]])
    classification = classification_metrics([0, 1], probs, ["a", "b"])
    assert headline_keys(classification) == ["accuracy", "macro_f1", "ece", "n"]
    assert headline_keys(tag_metrics) == ["f1", "macro_f1", "token_accuracy", "n"]
    assert headline_keys(multilabel) == ["micro_f1", "macro_f1", "subset_accuracy", "n"]
    assert headline_keys(scoring) == ["rmse", "mae", "pearson", "n"]
    ranking = ranking_metrics([0, 1], [0.1, 0.9], ["g", "g"], k=5)
    del ranking["n"]
    assert headline_keys(ranking) == ["ndcg@5", "mrr", "auc", "n_groups"]
