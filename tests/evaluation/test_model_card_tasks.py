"""Model cards for multi-label, tagging and scoring models."""

import numpy as np

from bizlm.evaluation import (
    entity_metrics,
    multilabel_metrics,
    ranking_metrics,
    regression_metrics,
    render_model_card,
)

TAGS = ["B-LOC", "B-ORG", "B-PER", "I-PER", "O"]
DATA = {"source": "my files", "language": "en"}


def card(summary: dict, labels: list[str], metrics: dict | None, data: dict = DATA) -> str:
    return render_model_card(name="m", summary=summary, labels=labels, metrics=metrics, data=data)


def assert_no_single_label_wording(text: str) -> None:
    assert "still gets one of" not in text
    assert "Confusion" not in text


def test_tag_card() -> None:
    metrics = entity_metrics(
        [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]],
        [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]],
    )
    data = {**DATA, "label_distribution": {"PER": 7, "LOC": 3}}
    text = card({"task": "tag"}, TAGS, metrics, data)
    assert "pipeline_tag: token-classification" in text
    assert "A token classifier (entity tagger)" in text
    assert "| Entity F1 (micro) | 0.6667 |" in text
    assert "| Token accuracy | 0.8333 |" in text
    assert "| Entity type | Precision | Recall | F1 | Support |" in text
    assert "| PER | 1.0000 | 1.0000 | 1.0000 | 1 |" in text
    assert "| LOC | 0.0000 | 0.0000 | 0.0000 | 1 |" in text
    assert "| PER | 7 |" in text  # entity-type counts shown although labels are IOB2 tags
    assert "entity types in text: `LOC`, `ORG`, `PER`." in text
    assert 'AutoModelForTokenClassification.from_pretrained("MODEL_DIR/model")' in text
    assert "Calibration was not measured" in text
    assert_no_single_label_wording(text)


def test_multilabel_card() -> None:
    labels = ["billing", "shipping", "urgent"]
    gold = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    probs = np.array([[0.9, 0.2, 0.4], [0.6, 0.7, 0.1], [0.8, 0.4, 0.2], [0.1, 0.1, 0.35]])
    metrics = multilabel_metrics(gold, probs, labels, [0.5, 0.5, 0.3])
    text = card({"task": "classify"}, labels, metrics)
    assert "A multi-label text classifier" in text
    assert "pipeline_tag: text-classification" in text
    assert f"| Micro-F1 | {8 / 11:.4f} |" in text
    assert "| Subset accuracy (exact match) | 0.2500 |" in text
    assert "| Hamming loss | 0.2500 |" in text
    assert "| billing | 0.6667 | 1.0000 | 0.8000 | 2 |" in text
    assert "| Label | Threshold |" in text and "| urgent | 0.3000 |" in text
    assert "so it may get none" in text
    assert_no_single_label_wording(text)


def test_scoring_card_without_labels() -> None:
    metrics = {
        **regression_metrics([1, 2, 3, 4], [2, 2, 2, 2]),
        **ranking_metrics([0, 1, 0, 1], [0.9, 0.5, 0.3, 0.7], ["q1", "q1", "q2", "q2"]),
    }
    text = card({"method": "lora"}, [], metrics)  # no task given: the metrics tell
    assert "A text scoring model (regression or ranking)" in text
    assert "| Pearson r | n/a |" in text
    assert "| MSE | 1.5000 |" in text
    assert "| NDCG@10 |" in text and "| MRR | 0.7500 |" in text
    assert "| Labels |" not in text
    assert "Calibration" not in text
    assert "Per-class" not in text and "Threshold" not in text
    assert_no_single_label_wording(text)


def test_unevaluated_cards_follow_the_task_name() -> None:
    tag = card({"task": "tag"}, ["PER", "LOC"], None)
    assert "Not evaluated" in tag and "pipeline_tag: token-classification" in tag
    assert "entity types in text: `PER`, `LOC`." in tag
    multi = card({"task": "classify", "multi_label": True}, ["a", "b"], None)
    assert "multi-label text classifier" in multi
    tag_without_labels = card({"task": "tag"}, [], entity_metrics([["B-PER", "O"]], [["O", "O"]]))
    assert "entity types in text: `PER`." in tag_without_labels
    assert "| Labels | 1: PER |" in tag_without_labels
    score = card({"task": "score"}, [], None)
    assert "text scoring model" in score and "Calibration" not in score
