"""The decision threshold of two-label classifiers: tuned on validation, kept only when it helps,
applied alike by predict, the task's metrics and the server."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import bizlm
from bizlm.bundle_info import BundleInfo
from bizlm.decision import MIN_GAIN, Threshold, choose, threshold_of, tune_threshold
from bizlm.predictor import Predictor
from bizlm.recipe import TaskConfig
from bizlm.serve.predictions import build_predictions
from bizlm.serve.served import JobResult
from bizlm.tasks import Examples, build_task
from tests.conftest import FILLER, TINY_TRAIN, WORDS, write_csv

LABELS = ["common", "rare"]


def skewed(seed: int, count: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Gold ids (20% rare) and probabilities where the rare label seldom wins the argmax:
    rare texts get P(rare) around 0.4, common ones around 0.15."""
    rng = np.random.default_rng(seed)
    gold = (rng.random(count) < 0.2).astype(int)
    rare = np.clip(np.where(gold == 1, 0.4, 0.15) + rng.normal(0, 0.08, count), 0.01, 0.99)
    return gold, np.stack([1 - rare, rare], axis=1)


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(gold, predicted, labels=[0, 1], average="macro", zero_division=0))


def test_a_threshold_that_recovers_minority_recall_is_kept() -> None:
    gold, probabilities = skewed(seed=1)
    record = tune_threshold(gold, probabilities, LABELS)
    before = macro_f1(gold, probabilities.argmax(axis=1))
    assert record["label"] == "rare" and record["value"] is not None
    assert record["value"] < 0.5
    after = macro_f1(gold, (probabilities[:, 1] >= record["value"]).astype(int))
    assert record["validation_macro_f1"]["argmax"] == pytest.approx(before)
    assert record["validation_macro_f1"]["tried"] == pytest.approx(after)
    assert after >= before + MIN_GAIN
    grid = [macro_f1(gold, (probabilities[:, 1] >= t).astype(int)) for t in probabilities[:, 1]]
    assert after == pytest.approx(max(grid))  # no distinct probability does better


def test_a_threshold_that_does_not_help_is_not_kept() -> None:
    rng = np.random.default_rng(2)
    gold = np.arange(200) % 2
    rare = np.where(gold == 1, 0.8, 0.2) + rng.normal(0, 0.05, 200)  # argmax is already perfect
    record = tune_threshold(gold, np.stack([1 - rare, rare], axis=1), LABELS)
    assert record["value"] is None
    assert record["validation_macro_f1"]["argmax"] == pytest.approx(1.0)
    assert threshold_of({"decision_threshold": record}, LABELS) is None


def test_choose_applies_a_threshold_only_to_two_labels() -> None:
    rows = np.array([[0.7, 0.3], [0.9, 0.1], [0.4, 0.6]])
    assert choose(rows).tolist() == [0, 0, 1]
    assert choose(rows, Threshold(1, 0.25)).tolist() == [1, 0, 1]
    three = np.array([[0.5, 0.3, 0.2]])
    assert choose(three, Threshold(1, 0.1)).tolist() == [0]
    saved = {"decision_threshold": {"label": "rare", "value": 0.25}}
    assert threshold_of(saved, LABELS) == Threshold(1, 0.25)
    assert threshold_of(saved, ["a", "b", "rare"]) is None
    assert threshold_of({}, LABELS) is None


@dataclass
class FixedPredictor:
    """What calibrate and score read of a predictor: fixed probabilities per text."""

    labels: list[str]
    table: dict[str, np.ndarray]
    info: BundleInfo = field(default_factory=lambda: BundleInfo(labels=LABELS))

    def predict_proba(self, texts: list[str], pairs: list[str] | None = None) -> np.ndarray:
        return np.stack([self.table[text] for text in texts])


def test_calibrate_records_the_threshold_and_score_uses_it() -> None:
    gold, probabilities = skewed(seed=3)
    texts = [f"text {i}" for i in range(len(gold))]
    examples = Examples(texts, [LABELS[g] for g in gold], list(range(2, len(gold) + 2)))
    predictor = FixedPredictor(LABELS, dict(zip(texts, probabilities, strict=True)))
    task = build_task(TaskConfig())
    calibration = task.calibrate(predictor, examples, None)
    threshold = calibration["decision_threshold"]["value"]
    assert threshold is not None
    argmax_scores = task.score(predictor, examples)
    predictor.info.calibration = calibration
    scores = task.score(predictor, examples)
    predicted = (probabilities[:, 1] >= threshold).astype(int)
    assert scores["macro_f1"] == pytest.approx(macro_f1(gold, predicted))
    assert scores["macro_f1"] > argmax_scores["macro_f1"] + MIN_GAIN
    assert scores["accuracy"] == pytest.approx(float(np.mean(predicted == gold)))
    assert np.sum(scores["confusion_matrix"], axis=0).tolist() == np.bincount(predicted).tolist()
    assert scores["log_loss"] == argmax_scores["log_loss"]  # the probabilities are unchanged


def test_calibrate_leaves_classifiers_of_more_labels_alone() -> None:
    labels = ["a", "b", "c"]
    predictor = FixedPredictor(labels, {"x": np.array([0.2, 0.3, 0.5])})
    examples = Examples(["x"], ["c"], [2])
    assert build_task(TaskConfig()).calibrate(predictor, examples, None) == {}


@pytest.fixture()
def thresholded(tiny_model_dir: Path) -> tuple[Predictor, list[str]]:
    """A two-label predictor of the tiny model whose threshold flips some argmax labels."""
    torch.manual_seed(4)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    predictor = Predictor(model, tokenizer, LABELS, 32)
    rng = random.Random(5)
    vocabulary = FILLER + [w for words in WORDS.values() for w in words]
    texts = [" ".join(rng.sample(vocabulary, 5)) for _ in range(60)]
    rare = predictor.predict_proba(texts)[:, 1]
    value = float(np.median(rare))
    predictor.info.calibration = {"decision_threshold": {"label": "rare", "value": value}}
    flips = choose(predictor.predict_proba(texts), predictor.decision_threshold)
    assert (flips != predictor.predict_proba(texts).argmax(axis=1)).any()
    return predictor, texts


def test_predict_and_score_agree_with_the_threshold(thresholded) -> None:
    predictor, texts = thresholded
    probabilities = predictor.predict_proba(texts)
    threshold = predictor.decision_threshold
    assert threshold is not None
    expected = ["rare" if p >= threshold.value else "common" for p in probabilities[:, 1]]
    predictions = predictor.predict(texts)
    assert [p["label"] for p in predictions] == expected
    for prediction, row in zip(predictions, probabilities, strict=True):
        assert prediction["score"] == pytest.approx(row[LABELS.index(prediction["label"])])
    gold = ["rare" if i % 2 else "common" for i in range(len(texts))]
    scores = build_task(TaskConfig()).score(predictor, Examples(texts, gold, list(range(60))))
    hits = np.mean([e == g for e, g in zip(expected, gold, strict=True)])
    assert scores["accuracy"] == pytest.approx(float(hits))


def test_the_server_answers_the_chosen_label(thresholded) -> None:
    predictor, texts = thresholded
    probabilities = predictor.predict_proba(texts)
    chosen = predictor.choose(probabilities)
    result = JobResult("1", LABELS, probabilities, None, chosen)
    served = [p.label for p in build_predictions(result, top_k=2, return_probabilities=False)]
    assert served == [p["label"] for p in predictor.predict(texts)]


def test_a_trained_binary_bundle_predicts_and_scores_with_its_calibration(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    rng = random.Random(6)
    rows = []
    for index in range(200):
        label = "rare" if index % 5 == 0 else "common"
        words = WORDS["negative" if label == "rare" else "positive"]
        rows.append({"text": " ".join([*rng.sample(FILLER, 3), rng.choice(words)]), "label": label})
    train = write_csv(tmp_path / "train.csv", rows[:160])
    test = write_csv(tmp_path / "test.csv", rows[160:])
    result = bizlm.train(
        {
            "model": str(tiny_model_dir),
            "data": {"train": str(train), "test": str(test)},
            "train": TINY_TRAIN | {"epochs": 1},
            "output": str(tmp_path / "bundle"),
        }
    )
    record = result.info["calibration"]["decision_threshold"]
    assert record["label"] == "rare" and set(record["validation_macro_f1"]) == {"argmax", "tried"}
    loaded = bizlm.load(result.bundle)
    assert loaded.info.calibration == result.info["calibration"]
    metrics = bizlm.evaluate(result.bundle, test)
    assert metrics["macro_f1"] == pytest.approx(result.metrics["macro_f1"], abs=1e-9)
    texts = [row["text"] for row in rows[160:]]
    expected = [LABELS[i] for i in choose(loaded.predict_proba(texts), loaded.decision_threshold)]
    assert [p["label"] for p in loaded.predict(texts)] == expected
