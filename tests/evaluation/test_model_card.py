"""Markdown model card: sections, numbers and safe defaults."""

import numpy as np

from bizlm.evaluation import classification_metrics, render_model_card

LABELS = ["billing", "ship|ping"]
SUMMARY = {
    "backbone": "distilbert-base-uncased",
    "method": "lora",
    "task": "single-label",
    "trainable_params": 740_352,
    "bizlm_version": "0.1.0",
}
DATA = {
    "catalog": "support-tickets",
    "files": {"train": "train.csv", "test": "test.csv"},
    "counts": {"train": 120, "test": 30},
    "label_distribution": {"billing": 70, "ship|ping": 50},
    "licence": "CC-BY-4.0",
    "rows_skipped": 3,
    "language": "en",
}
SECTIONS = (
    "## Model details",
    "## Training data",
    "## Evaluation",
    "## Intended use",
    "## Limitations",
    "## How to use",
)


def test_card_with_metrics() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    metrics = classification_metrics([0, 1, 1, 1], probs, LABELS)
    card = render_model_card(
        name="tickets", summary=SUMMARY, labels=LABELS, metrics=metrics, data=DATA
    )
    assert "# tickets" in card
    positions = [card.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    for text in ("distilbert-base-uncased", "lora", "740,352", "0.1.0", "support-tickets"):
        assert text in card
    assert "| train | 120 |" in card and "| test | 30 |" in card
    assert "| ship\\|ping | 50 |" in card
    assert "CC-BY-4.0" in card
    assert "Rows skipped while loading (empty or malformed): 3" in card
    assert f"| Accuracy | {metrics['accuracy']:.4f} |" in card
    assert f"| Macro-F1 | {metrics['macro_f1']:.4f} |" in card
    assert f"{metrics['ece']:.4f}" in card.split("## Limitations")[1]
    assert "| billing | 0.5000 | 1.0000 | 0.6667 | 1 |" in card
    assert "English data only" in card
    assert "re-evaluate" in card
    assert 'bizlm predict MODEL_DIR "' in card
    assert 'bizlm.load("MODEL_DIR")' in card
    assert 'AutoModelForSequenceClassification.from_pretrained("MODEL_DIR/model")' in card


def test_card_without_metrics_and_custom_use() -> None:
    card = render_model_card(
        name="x",
        summary={},
        labels=LABELS,
        metrics=None,
        data={"source": "my files", "language": ["en", "de"]},
        intended_use="Route German and English emails.",
    )
    for section in SECTIONS:
        assert section in card
    assert "Not evaluated" in card
    assert "Route German and English emails." in card
    assert "English data only" not in card
    assert "Calibration was not measured" in card
