"""The verdict (model vs TF-IDF baseline vs majority class) and how the report and card show it."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bizlm.bundle_info import BundleInfo
from bizlm.evaluation import classification_metrics, render_model_card, render_report
from bizlm.evaluation.verdict import verdict
from bizlm.training.documents import headline_metrics, write_documents

LABELS = ["a", "b"]
BASELINE = {
    "name": "tfidf-logreg",
    "features": "TF-IDF of word 1-2-grams (sublinear tf, min_df 2)",
    "settings": {"model": "LogisticRegression", "C": 1.0, "max_iter": 1000, "class_weight": None},
    "train_seconds": 0.42,
    "validation": {"macro_f1": 0.96, "accuracy": 0.97},
    "test": {"macro_f1": 0.977, "accuracy": 0.98},
}
MAJORITY = {
    "rule": "always 'a'",
    "validation": {"macro_f1": 0.3, "accuracy": 0.6},
    "test": {"macro_f1": 0.2, "accuracy": 0.5},
}


def model(test: float, validation: float = 0.5) -> dict:
    return {"validation": {"macro_f1": validation}, "test": {"macro_f1": test}}


def test_model_below_the_baseline() -> None:
    result = verdict("macro_f1", model(0.465), BASELINE, MAJORITY, None)
    assert result["metric"] == "macro_f1" and result["split"] == "test"
    assert (result["model"], result["baseline"], result["majority"]) == (0.465, 0.977, 0.2)
    assert result["margin_points"] == pytest.approx(-51.2)
    assert result["majority_margin_points"] == pytest.approx(26.5)
    assert result["beats_baseline"] is False and result["beats_majority"] is True
    assert result["passed"] is False
    assert result["message"] == (
        "The model did not beat the baseline on the test split: macro-F1 0.465 vs 0.977 for "
        "TF-IDF + logistic regression (\u221251.2 points)."
    )


def test_model_above_the_baseline_with_and_without_a_minimum_margin() -> None:
    baseline = {**BASELINE, "test": {"macro_f1": 0.781}}
    result = verdict("macro_f1", model(0.812), baseline, MAJORITY, None)
    assert result["margin_points"] == pytest.approx(3.1)
    assert result["beats_baseline"] is True and result["passed"] is True
    assert result["min_margin_points"] is None
    assert result["message"] == (
        "The model beats the baseline on the test split by +3.1 macro-F1 points (0.812 vs "
        "0.781 for TF-IDF + logistic regression)."
    )
    assert verdict("macro_f1", model(0.812), baseline, MAJORITY, 3.0)["passed"] is True
    short = verdict("macro_f1", model(0.812), baseline, MAJORITY, 5.0)
    assert short["beats_baseline"] is True and short["passed"] is False
    assert short["min_margin_points"] == 5.0
    assert "by only +3.1 macro-F1 points" in short["message"]
    assert short["message"].endswith("short of the required +5.0.")


def test_model_no_better_than_the_majority_class_gets_causes_and_settings() -> None:
    result = verdict("macro_f1", model(0.2), BASELINE, MAJORITY, 1.0)
    assert result["beats_majority"] is False and result["majority_margin_points"] == 0.0
    message = result["message"]
    assert message.startswith("The model did not beat the baseline")
    assert "It does not beat the majority-class predictor (always 'a'): macro-F1 0.200" in message
    assert "learned nothing beyond predicting the most frequent label" in message
    for setting in ("train.learning_rate", "regularise.class_weights=balanced", "train.max_length"):
        assert setting in message
    multi = verdict(
        "micro_f1", {"test": {"micro_f1": 0.0}}, None, {"test": {"micro_f1": 0.1}}, None
    )
    assert "giving every text the same labels" in multi["message"]
    assert "class_weights" not in multi["message"]


def test_validation_split_and_headline_metrics_shape() -> None:
    only_validation = {"validation": {"macro_f1": 0.99}}
    result = verdict("macro_f1", only_validation, BASELINE, MAJORITY, None)
    assert result["split"] == "validation" and result["baseline"] == 0.96
    assert result["margin_points"] == pytest.approx(3.0)
    headline = headline_metrics(model(0.99, validation=0.4))
    assert verdict("macro_f1", headline, BASELINE, MAJORITY, None)["model"] == 0.99


def test_score_undefined_majority_counts_as_zero_and_no_baseline() -> None:
    majority = {"rule": "always 2 (the training mean)", "test": {"spearman": None}}
    result = verdict("spearman", {"test": {"spearman": 0.5}}, None, majority, 2.0)
    assert result["baseline"] is None and result["margin_points"] is None
    assert result["beats_baseline"] is None and result["passed"] is None
    assert result["majority"] is None and result["majority_margin_points"] == pytest.approx(50.0)
    assert result["message"] == (
        "No TF-IDF baseline was fitted for this task. The model beats the majority-class "
        "predictor by +50.0 Spearman points (0.500 vs n/a)."
    )
    flat = verdict("spearman", {"test": {"spearman": None}}, None, majority, None)
    assert flat["beats_majority"] is False
    assert "predicting the same score for every text" in flat["message"]


def test_model_never_scored() -> None:
    result = verdict("macro_f1", {"evaluated_on": None}, BASELINE, MAJORITY, None)
    assert result["split"] is None and result["passed"] is None
    assert "not scored on labelled data" in result["message"]


@pytest.fixture(scope="module")
def metrics() -> dict:
    probs = np.array([[0.7, 0.3], [0.6, 0.4], [0.2, 0.8], [0.9, 0.1]])
    return {**classification_metrics([0, 1, 1, 0], probs, LABELS), "evaluated_on": "test"}


def report(metrics: dict, **comparison) -> str:
    return render_report(
        title="t", metrics=metrics, labels=LABELS, history=[], summary={"k": 1}, **comparison
    )


def card(metrics: dict, **comparison) -> str:
    summary = {"task": "classify"}
    return render_model_card(
        name="m", summary=summary, labels=LABELS, metrics=metrics, data={}, **comparison
    )


def test_report_shows_the_baseline_table_and_the_verdict(metrics: dict) -> None:
    result = verdict("macro_f1", metrics, BASELINE, MAJORITY, None)
    page = report(metrics, baseline=BASELINE, majority=MAJORITY, verdict=result)
    assert page.index("<h2>Summary</h2>") < page.index("<h2>Baseline</h2>")
    assert page.index("<h2>Baseline</h2>") < page.index("<h2>Headline metrics</h2>")
    assert f'<p class="verdict fail">{result["message"]}</p>' in page
    assert '<table class="baseline">' in page
    assert "<th>Model&#x27;s margin (macro-F1 points)</th>" in page
    assert '<th>This model</th><td class="num">0.7333</td><td class="num">0.7500</td>' in page
    assert "<th>TF-IDF + logistic regression</th>" in page
    assert '<td class="num">\u221224.4</td>' in page  # 0.7333 - 0.977
    assert "<th>Majority class (always &#x27;a&#x27;)</th>" in page
    assert "C=1.0, max_iter=1000, class_weight=None" in page
    beaten = verdict("macro_f1", metrics, {**BASELINE, "test": {"macro_f1": 0.5}}, MAJORITY, None)
    assert '<p class="verdict">' in report(metrics, verdict=beaten)


def test_card_shows_the_baseline_table_and_the_verdict(metrics: dict) -> None:
    result = verdict("macro_f1", metrics, BASELINE, MAJORITY, None)
    text = card(metrics, baseline=BASELINE, majority=MAJORITY, verdict=result)
    evaluation = text.split("## Evaluation")[1].split("## Intended use")[0]
    assert "### Baseline" in evaluation
    assert f"**{result['message']}**" in evaluation
    assert "| Predictor | Macro-F1 | Accuracy | Model's margin (macro-F1 points) |" in evaluation
    assert "| This model | 0.7333 | 0.7500 |  |" in evaluation
    assert "| TF-IDF + logistic regression | 0.9770 | 0.9800 | \u221224.4 |" in evaluation
    assert "| Majority class (always 'a') | 0.2000 | 0.5000 | +53.3 |" in evaluation
    assert "Scores on the test split." in evaluation


def test_renderers_unchanged_without_a_baseline(metrics: dict) -> None:
    empty = {"baseline": None, "majority": None, "verdict": None}
    assert report(metrics) == report(metrics, **empty)
    assert (
        "Baseline" not in report(metrics) and "verdict" not in report(metrics).split("</style>")[1]
    )
    assert card(metrics) == card(metrics, **empty)
    assert "Baseline" not in card(metrics)
    assert "Baseline" not in card(None, verdict=None)


def test_documents_pass_the_comparison_through(tmp_path: Path, metrics: dict) -> None:
    training = {
        "history": [],
        "trainable_parameters": 10,
        "total_parameters": 100,
        "train_seconds": 1.0,
        "samples_per_s": 2.0,
        "interrupted": False,
    }
    info = {
        "labels": LABELS,
        "training": training,
        "recipe": {"model": "tiny", "method": {"name": "lora"}},
        "task": "classify",
        "backbone": {"location": "/models/tiny"},
        "metrics": {**metrics, "baseline": BASELINE, "majority": MAJORITY},
    }
    info["verdict"] = verdict("macro_f1", info["metrics"], BASELINE, MAJORITY, None)
    data = SimpleNamespace(labels=LABELS, summary={"counts": {"train": 4}})
    write_documents(tmp_path, BundleInfo.model_validate(info), data, "run")
    message = info["verdict"]["message"]
    assert message in (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert message in (tmp_path / "report.html").read_text(encoding="utf-8")
    del info["verdict"], info["metrics"]["baseline"], info["metrics"]["majority"]
    write_documents(tmp_path, BundleInfo.model_validate(info), data, "run")
    assert "Baseline" not in (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
