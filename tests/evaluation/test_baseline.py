"""TF-IDF baseline and majority-class predictor: fitted, scored like the model, on every task."""

import random

import numpy as np
import pytest

from bizlm.evaluation import classification_metrics, multilabel_metrics, regression_metrics
from bizlm.evaluation.baseline import C_GRID, fit_baseline, majority_scores, unsegmented_share
from bizlm.tasks import Examples
from tests.conftest import WORDS, make_rows

LABELS = ["negative", "neutral", "positive"]
CHINESE = {
    "positive": ["好", "棒", "喜欢", "满意", "快乐"],
    "negative": ["差", "坏", "讨厌", "失望", "难过"],
    "neutral": ["航班", "座位", "行李", "登机", "机票"],
}


def examples(rows: list[dict], **extras: list) -> Examples:
    return Examples(
        texts=[row["text"] for row in rows],
        targets=[row["label"] for row in rows],
        line_numbers=list(range(2, len(rows) + 2)),
        extras=dict(extras),
    )


def word_splits() -> dict[str, Examples]:
    parts = {"train": (240, 1), "validation": (60, 2), "test": (60, 3)}
    return {name: examples(make_rows(n, seed)) for name, (n, seed) in parts.items()}


def test_learns_an_easy_word_list_task_scored_like_the_model() -> None:
    result = fit_baseline("classify", False, word_splits(), LABELS)
    assert result["name"] == "tfidf-logreg"
    assert result["features"] == "TF-IDF of word 1-2-grams (sublinear tf, min_df 1)"
    settings = result["settings"]
    assert settings["analyzer"] == "word" and settings["ngram_range"] == [1, 2]
    assert settings["model"] == "LogisticRegression" and settings["C"] in C_GRID
    assert settings["C_chosen_on"] == "validation macro-F1"
    assert settings["class_weight"] is None  # three even labels
    assert result["train_seconds"] >= 0
    assert result["test"]["macro_f1"] > 0.95 and result["validation"]["accuracy"] > 0.95
    reference = classification_metrics([0, 1], np.array([[0.6, 0.4, 0.0], [0.2, 0.8, 0.0]]), LABELS)
    assert result["test"].keys() == reference.keys()
    assert list(result["test"]["per_class"]) == LABELS


def test_missing_split_has_no_key_and_tasks_without_a_baseline() -> None:
    splits = word_splits()
    del splits["test"]
    assert "test" not in fit_baseline("classify", False, splits, LABELS)
    assert fit_baseline("tag", False, splits, LABELS) is None
    assert fit_baseline("classify", False, {"test": splits["validation"]}, LABELS) is None
    one_label = {"train": examples(make_rows(9, 1, ("positive",)))}
    assert fit_baseline("classify", False, one_label, LABELS) is None
    symbols = {"train": examples([{"text": "!!", "label": "a"}, {"text": "?", "label": "b"}])}
    assert fit_baseline("classify", False, symbols, ["a", "b"]) is None


def test_a_declared_label_never_seen_in_training_gets_probability_zero() -> None:
    splits = {
        "train": examples(make_rows(120, 1, ("positive", "negative"))),
        "test": examples(make_rows(30, 3)),
    }
    result = fit_baseline("classify", False, splits, LABELS)
    assert result["test"]["per_class"]["neutral"]["recall"] == 0.0
    assert result["test"]["per_class"]["positive"]["recall"] > 0.9


def chinese_rows(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = LABELS[index % 3]
        words = [*rng.sample(CHINESE[label], 2), *rng.sample(["的", "我", "了", "很", "这"], 2)]
        rng.shuffle(words)
        rows.append({"text": "".join(words), "label": label})
    return rows


def test_chinese_uses_character_ngrams() -> None:
    assert unsegmented_share(["好的 ok", "   "]) == pytest.approx(2 / 4)
    assert unsegmented_share(["plain words"]) == 0.0
    splits = {"train": examples(chinese_rows(240, 1)), "test": examples(chinese_rows(60, 3))}
    result = fit_baseline("classify", False, splits, LABELS)
    assert result["settings"]["analyzer"] == "char_wb"
    assert result["settings"]["ngram_range"] == [1, 3]
    assert result["settings"]["unsegmented_share"] == 1.0
    assert result["features"].startswith("TF-IDF of character 1-3-grams")
    assert result["test"]["macro_f1"] > 0.9


def test_pairs_are_joined_so_the_pair_decides() -> None:
    def split(count: int, seed: int) -> Examples:
        rows = make_rows(count, seed)
        neutral = [row for row in make_rows(count, seed + 100) if row["label"] == "neutral"]
        texts = [
            {"text": neutral[i % len(neutral)]["text"], "label": r["label"]}
            for i, r in enumerate(rows)
        ]
        return examples(texts, text_pair=[row["text"] for row in rows])

    splits = {"train": split(240, 1), "test": split(60, 3)}
    assert fit_baseline("classify", False, splits, LABELS)["test"]["macro_f1"] > 0.95
    for part in splits.values():
        part.extras.clear()  # the first texts alone say nothing about the label
    assert fit_baseline("classify", False, splits, LABELS)["test"]["macro_f1"] < 0.5


def multi_label_rows(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        chosen = sorted(rng.sample(LABELS, rng.randint(1, 2)))
        words = [rng.choice(WORDS[label]) for label in chosen] + ["the", "was"]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": chosen})
    return rows


def test_multi_label_tunes_thresholds_on_validation() -> None:
    labels = [*LABELS, "never"]  # declared, never in training: a constant 0
    splits = {
        name: examples(multi_label_rows(n, seed))
        for name, (n, seed) in {"train": (300, 1), "validation": (80, 2), "test": (80, 3)}.items()
    }
    result = fit_baseline("classify", True, splits, labels)
    assert result["name"] == "tfidf-logreg"
    assert result["settings"]["thresholds"] == "tuned on validation"
    assert result["test"]["micro_f1"] > 0.9
    assert result["test"]["thresholds"]["never"] == 0.5
    reference = multilabel_metrics(np.eye(2), np.eye(2), ["a", "b"], [0.5, 0.5])
    assert result["test"].keys() == reference.keys()
    del splits["validation"]
    untuned = fit_baseline("classify", True, splits, labels)
    assert untuned["settings"]["thresholds"] == "0.5"
    assert set(untuned["test"]["thresholds"].values()) == {0.5}


def score_split(count: int, seed: int, groups: bool) -> Examples:
    rows = make_rows(count, seed)
    value = {"positive": 2.0, "neutral": 1.0, "negative": 0.0}
    split = examples(rows, **({"group": [i % 5 for i in range(count)]} if groups else {}))
    split.targets = [value[row["label"]] for row in rows]
    return split


@pytest.mark.parametrize("groups", [False, True])
def test_score_task_uses_ridge_and_the_task_metrics(groups: bool) -> None:
    splits = {
        name: score_split(n, s, groups) for name, n, s in (("train", 240, 1), ("test", 60, 3))
    }
    result = fit_baseline("score", False, splits, ["score"])
    assert result["name"] == "tfidf-ridge"
    assert result["settings"]["model"] == "Ridge" and result["settings"]["alpha"] == 1.0
    assert result["test"]["spearman"] > 0.9
    assert ("ndcg@10" in result["test"]) is groups
    assert regression_metrics([0.0, 1.0], [0.5, 1.5]).keys() <= result["test"].keys()


def test_majority_single_label_matches_a_hand_computation() -> None:
    train = examples([{"text": "x", "label": label} for label in "aaabbc"])
    test = examples([{"text": "y", "label": label} for label in "abca"])
    result = majority_scores("classify", False, {"train": train, "test": test}, ["a", "b", "c"])
    assert result["rule"] == "always 'a'"
    assert "validation" not in result
    scores = result["test"]
    assert scores["accuracy"] == pytest.approx(0.5)
    assert scores["per_class"]["a"]["f1"] == pytest.approx(2 / 3)  # precision 1/2, recall 1
    assert scores["macro_f1"] == pytest.approx(2 / 9)
    assert scores["log_loss"] == pytest.approx(
        -(2 * np.log(0.5) + np.log(2 / 6) + np.log(1 / 6)) / 4
    )
    tie = examples([{"text": "x", "label": label} for label in "bbaa"])
    assert majority_scores("classify", False, {"train": tie}, ["a", "b"])["rule"] == "always 'a'"


def test_majority_multi_label_predicts_labels_on_half_the_training_texts() -> None:
    train = examples([{"text": "t", "label": labels} for labels in (["x"], ["x", "y"], ["x"], [])])
    test = examples([{"text": "t", "label": labels} for labels in (["x"], ["y"], [])])
    result = majority_scores("classify", True, {"train": train, "test": test}, ["x", "y"])
    assert result["rule"] == "always {x}"
    scores = result["test"]  # x on all 3 texts: tp 1, fp 2; y missed once
    assert scores["micro_precision"] == pytest.approx(1 / 3)
    assert scores["micro_recall"] == pytest.approx(1 / 2)
    assert scores["micro_f1"] == pytest.approx(0.4)
    assert scores["thresholds"] == {"x": 0.5, "y": 0.5}
    none = examples([{"text": "t", "label": labels} for labels in (["x"], [], [])])
    assert (
        majority_scores("classify", True, {"train": none}, ["x", "y"])["rule"] == "always no label"
    )


def test_majority_score_is_the_training_mean() -> None:
    train = examples([{"text": "t", "label": None}] * 4)
    train.targets = [1.0, 2.0, 3.0, 6.0]
    test = examples([{"text": "t", "label": None}] * 2)
    test.targets = [2.0, 4.0]
    result = majority_scores("score", False, {"train": train, "validation": test}, ["score"])
    assert result["rule"] == "always 3 (the training mean)"
    assert result["validation"]["mse"] == pytest.approx(1.0)
    assert result["validation"]["spearman"] is None
    assert majority_scores("tag", False, {"train": train}, []) is None
    assert majority_scores("score", False, {}, ["score"]) is None


def test_an_imbalanced_set_gets_balanced_weights_and_c_is_chosen_on_validation() -> None:
    splits = word_splits()
    train = splits["train"]
    keep = [i for i, target in enumerate(train.targets) if target != "neutral" or i % 9 == 0]
    splits["train"] = train.subset(keep)  # neutral: under half of an even third
    result = fit_baseline("classify", False, splits, LABELS)
    assert result["settings"]["class_weight"] == "balanced"
    scores = [fit_baseline_with_c(splits, c) for c in C_GRID]
    assert result["validation"]["macro_f1"] == max(scores)


def fit_baseline_with_c(splits: dict[str, Examples], c: float) -> float:
    """Validation macro-F1 of the baseline when C is fixed to ``c``."""
    import bizlm.evaluation.baseline as baseline

    saved = baseline.C_GRID
    baseline.C_GRID = (c,)
    try:
        return fit_baseline("classify", False, splits, LABELS)["validation"]["macro_f1"]
    finally:
        baseline.C_GRID = saved


def _ngram_cases() -> dict[str, tuple]:
    binary_labels = ["negative", "positive"]
    binary = {
        name: examples(make_rows(n, seed, tuple(binary_labels)))
        for name, (n, seed) in {"train": (200, 1), "validation": (60, 2)}.items()
    }
    multi = {"train": examples(multi_label_rows(200, 1))}
    score = {"train": score_split(200, 1, False)}
    return {
        "softmax": ("classify", False, word_splits(), LABELS),
        "binary": ("classify", False, binary, binary_labels),
        "sigmoid": ("classify", True, multi, [*LABELS, "never"]),
        "linear": ("score", False, score, ["score"]),
    }


@pytest.mark.parametrize("activation", ["softmax", "binary", "sigmoid", "linear"])
def test_the_fitted_ngram_model_matches_scikit_learn_and_survives_a_save(
    activation: str, tmp_path
) -> None:
    from sklearn.linear_model import LogisticRegression, Ridge

    from bizlm.evaluation.baseline import fit_baseline_model
    from bizlm.ngram_model import NgramModel

    task_type, multi_label, splits, labels = _ngram_cases()[activation]
    record, model = fit_baseline_model(task_type, multi_label, splits, labels)
    assert model.activation == activation and model.width == len(labels)
    texts = ["good great flight", "awful rude crew", "the seat", "unknown words only"]
    features = model.vectorizer.transform(texts)
    train = splits["train"]
    matrix = model.vectorizer.transform(train.texts)
    settings = record["settings"]
    if activation in ("softmax", "binary"):
        options = {k: settings[k] for k in ("C", "max_iter", "class_weight")}
        reference = LogisticRegression(**options).fit(matrix, train.targets)
        order = [list(reference.classes_).index(label) for label in labels]
        expected = reference.predict_proba(features)[:, order]
    elif activation == "sigmoid":
        gold = [[label in t for label in labels] for t in train.targets]
        expected = np.column_stack(
            [
                LogisticRegression(max_iter=1000).fit(matrix, column).predict_proba(features)[:, 1]
                if len(set(column)) > 1
                else np.zeros(len(texts))
                for column in np.asarray(gold).T
            ]
        )
    else:
        expected = Ridge(alpha=1.0).fit(matrix, train.targets).predict(features)[:, None]
    np.testing.assert_allclose(model.outputs(texts), expected, atol=1e-6)
    model.save(tmp_path / "ngram")
    np.testing.assert_allclose(
        NgramModel.load(tmp_path / "ngram").outputs(texts), expected, atol=1e-6
    )
