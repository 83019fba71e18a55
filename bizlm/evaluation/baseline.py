"""Reference points for a trained model: a TF-IDF baseline and the majority-class predictor.

Both are scored by the task's own ``score`` method (and, for multi-label, thresholds tuned by
its own ``calibrate``), so their metrics are computed exactly like the model's.

- ``tfidf-logreg`` (classify): TF-IDF features and scikit-learn's ``LogisticRegression``
  (``max_iter`` 1000). Single-label: its inverse regularisation ``C`` is the one of
  :data:`C_GRID` that scores best on validation macro-F1 (1.0 without validation), and classes
  are weighted (balanced) by the rule that weighs the model's (``class_weights: auto``), so the
  baseline is tuned as far as the model is. Multi-label: one binary model per label at its
  defaults (C=1.0, no class weights), whose thresholds are tuned on validation like the
  model's (0.5 without a validation split).
- ``tfidf-ridge`` (score): the same features and ``Ridge`` (alpha=1.0); with groups the
  task adds its ranking metrics.

Features are word 1-2-grams, or character 1-3-grams within word boundaries when at least
:data:`UNSEGMENTED_SHARE` of the training characters belong to scripts written without
spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar). A text pair is joined into one text
with ``bizlm.ngram_model.PAIR_SEPARATOR``. The fitted models are
:class:`bizlm.ngram_model.NgramModel` objects, so a bundle can keep one and blend it in.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

from bizlm.ngram_model import NgramModel, joined
from bizlm.recipe import TaskConfig
from bizlm.sections.regularise import IMBALANCE_SHARE_OF_EVEN
from bizlm.tasks import Examples, Task, build_task

UNSEGMENTED_SHARE = 0.3
MIN_DF_FROM = 1000  # from this many training texts on, n-grams seen in one text are dropped
LOGREG = {"C": 1.0, "max_iter": 1000, "class_weight": None}
C_GRID = (0.1, 1.0, 10.0, 100.0)  # single-label: C is chosen on validation from these
RIDGE = {"alpha": 1.0}
CONSTANT_LOGIT = 30.0  # the logit of a label training never varies (probability 1e-13 from 0/1)
_UNSEGMENTED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0002ffff]"
)
_EVALUATED = ("validation", "test")


@dataclass
class _TextPredictor:
    """What a task's ``score`` and ``calibrate`` read of a predictor: ``labels``,
    ``thresholds`` and ``predict_proba``, here over a function of the (joined) texts."""

    labels: list[str]
    outputs: Callable[[list[str]], np.ndarray]
    thresholds: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.thresholds = self.thresholds or [0.5] * len(self.labels)

    def predict_proba(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> np.ndarray:
        """Outputs per text (or pair), shape (len(texts), len(labels)), in ``labels`` order."""
        return self.outputs(joined(texts, pairs))


def _task(task_type: str, multi_label: bool) -> Task:
    return build_task(TaskConfig(type=task_type, multi_label=multi_label))


def _scores(task: Task, predictor: _TextPredictor, splits: dict[str, Examples]) -> dict[str, Any]:
    """The task's metrics of ``predictor`` on the validation and test splits present."""
    return {
        name: task.score(predictor, splits[name])
        for name in _EVALUATED
        if name in splits and len(splits[name])
    }


def unsegmented_share(texts: Sequence[str]) -> float:
    """Share of the non-space characters of ``texts`` in scripts written without spaces."""
    joined = "".join(texts)
    visible = len(joined) - sum(ch.isspace() for ch in joined)
    return len(_UNSEGMENTED.findall(joined)) / visible if visible else 0.0


def _vectorizer(texts: Sequence[str]) -> tuple[TfidfVectorizer, dict[str, Any], str]:
    """The TF-IDF vectorizer for these training texts, its settings and a description."""
    share = unsegmented_share(texts)
    min_df = 2 if len(texts) >= MIN_DF_FROM else 1
    if share >= UNSEGMENTED_SHARE:
        analyzer, ngrams, unit = "char_wb", (1, 3), "character 1-3-grams"
    else:
        analyzer, ngrams, unit = "word", (1, 2), "word 1-2-grams"
    settings = {
        "analyzer": analyzer,
        "ngram_range": list(ngrams),
        "sublinear_tf": True,
        "min_df": min_df,
        "unsegmented_share": round(share, 3),
    }
    vectorizer = TfidfVectorizer(
        analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True, min_df=min_df
    )
    return vectorizer, settings, f"TF-IDF of {unit} (sublinear tf, min_df {min_df})"


def _single_label(
    features: Any,
    targets: list[str],
    labels: list[str],
    options: dict[str, Any],
    vectorizer: TfidfVectorizer,
) -> NgramModel | None:
    """Logistic regression over the labels seen in training (None with fewer than two):
    probabilities in ``labels`` order, 0 for a label training never saw."""
    if len(set(targets)) < 2:
        return None
    model = LogisticRegression(**options).fit(features, targets)
    return NgramModel(
        vectorizer=vectorizer,
        coef=model.coef_,
        intercept=model.intercept_,
        activation="binary" if model.coef_.shape[0] == 1 else "softmax",
        width=len(labels),
        columns=[labels.index(str(c)) for c in model.classes_],
    )


def _tuned_single_label(
    matrix: Any,
    vectorizer: TfidfVectorizer,
    splits: dict[str, Examples],
    labels: list[str],
    task: Task,
) -> tuple[NgramModel | None, dict[str, Any]]:
    """The single-label model whose ``C`` scores best on validation macro-F1, and its
    options; classes are weighted when the model's own rule would weigh them."""
    targets = [str(t) for t in splits["train"].targets]
    counts = Counter(targets)
    even = len(labels) and 1 / len(labels)
    imbalanced = min(counts.get(label, 0) for label in labels) < (
        IMBALANCE_SHARE_OF_EVEN * even * len(targets)
    )
    options = {**LOGREG, "class_weight": "balanced" if imbalanced else None}
    validation = splits.get("validation")
    if validation is None or not len(validation):
        return _single_label(matrix, targets, labels, options, vectorizer), options
    best: tuple[float, NgramModel | None, dict[str, Any]] = (-1.0, None, options)
    for c in C_GRID:
        tried = {**options, "C": c}
        model = _single_label(matrix, targets, labels, tried, vectorizer)
        if model is None:
            return None, options
        score = task.score(_TextPredictor(labels, model.outputs), validation)["macro_f1"]
        if score > best[0]:
            best = (score, model, {**tried, "C_chosen_on": "validation macro-F1"})
    return best[1], best[2]


def _binary(features: Any, gold: np.ndarray) -> tuple[np.ndarray, float]:
    """One label's coefficients and intercept: logistic regression, or a constant (zero
    coefficients, an intercept that saturates the sigmoid) when training has one value."""
    if gold.min() == gold.max():
        return np.zeros(features.shape[1]), CONSTANT_LOGIT if gold[0] else -CONSTANT_LOGIT
    model = LogisticRegression(**LOGREG).fit(features, gold)
    return model.coef_[0], float(model.intercept_[0])


def _multi_label(
    features: Any, targets: list[list[str]], labels: list[str], vectorizer: TfidfVectorizer
) -> NgramModel:
    """One binary logistic regression per label."""
    gold = np.asarray([[label in t for label in labels] for t in targets], dtype=int)
    per_label = [_binary(features, column) for column in gold.T]
    return NgramModel(
        vectorizer=vectorizer,
        coef=np.vstack([coef for coef, _ in per_label]),
        intercept=np.asarray([intercept for _, intercept in per_label]),
        activation="sigmoid",
        width=len(labels),
        columns=list(range(len(labels))),
    )


def _ridge(features: Any, targets: list[float], vectorizer: TfidfVectorizer) -> NgramModel:
    model = Ridge(**RIDGE).fit(features, np.asarray(targets, dtype=float))
    return NgramModel(
        vectorizer=vectorizer,
        coef=np.asarray(model.coef_).reshape(1, -1),
        intercept=np.asarray([model.intercept_], dtype=float).reshape(1),
        activation="linear",
        width=1,
        columns=[0],
    )


def _fit_and_score(
    task_type: str, multi_label: bool, splits: dict[str, Examples], labels: list[str]
) -> tuple[dict[str, Any], NgramModel] | None:
    """The body of :func:`fit_baseline_model`, for a task that has a training split."""
    task, train = _task(task_type, multi_label), splits["train"]
    start = time.perf_counter()
    texts = joined(train.texts, train.column("text_pair"))
    vectorizer, settings, features = _vectorizer(texts)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # no n-gram kept: texts of symbols only, or each n-gram in one text
        return None
    model: NgramModel | None
    if task_type == "score":
        name, model_settings = "tfidf-ridge", {"model": "Ridge", **RIDGE}
        model = _ridge(matrix, train.targets, vectorizer)
    else:
        name, model_settings = "tfidf-logreg", {"model": "LogisticRegression", **LOGREG}
        if multi_label:
            model = _multi_label(matrix, train.targets, labels, vectorizer)
        else:
            model, options = _tuned_single_label(matrix, vectorizer, splits, labels, task)
            model_settings.update(options)
    if model is None:
        return None
    seconds = time.perf_counter() - start
    predictor = _TextPredictor(labels, model.outputs)
    if multi_label:
        validation = splits.get("validation")
        tuned = validation is not None and len(validation) > 0
        if tuned:
            predictor.thresholds = task.calibrate(predictor, validation, train)["thresholds"]
        model_settings["thresholds"] = "tuned on validation" if tuned else "0.5"
    record = {
        "name": name,
        "features": features,
        "settings": {**settings, **model_settings},
        "train_seconds": round(seconds, 3),
        **_scores(task, predictor, splits),
    }
    return record, model


def fit_baseline_model(
    task_type: str, multi_label: bool, splits: dict[str, Examples], labels: list[str]
) -> tuple[dict[str, Any], NgramModel] | None:
    """:func:`fit_baseline`'s record and the fitted n-gram model itself (None where
    :func:`fit_baseline` gives None), for a model that blends the baseline into its own."""
    train = splits.get("train")
    if task_type == "tag" or train is None or not len(train):
        return None
    with threadpool_limits(limits=1):
        return _fit_and_score(task_type, multi_label, splits, labels)


def fit_baseline(
    task_type: str, multi_label: bool, splits: dict[str, Examples], labels: list[str]
) -> dict[str, Any] | None:
    """Fit a TF-IDF + linear model on the training split; score it on validation and test.

    Returns ``{"name", "features", "settings", "train_seconds", "validation", "test"}`` (a
    split that is missing or empty has no key), or None for a tag task, without training
    data, when the training texts yield no n-gram, or for a single-label task whose training
    data holds fewer than two labels.
    ``train_seconds`` covers vectorizing and fitting. The linear algebra runs on one thread:
    these small sparse problems gain nothing from more, and lose much on a busy machine.
    """
    fitted = fit_baseline_model(task_type, multi_label, splits, labels)
    return None if fitted is None else fitted[0]


def _majority_predictor(
    task_type: str, multi_label: bool, train: Examples, labels: list[str]
) -> tuple[_TextPredictor, str]:
    """A predictor that gives every text the same output, and its rule in words."""
    if task_type == "score":
        mean = float(np.mean(train.targets))
        output = np.array([mean])
        rule = f"always {mean:.4g} (the training mean)"
    elif multi_label:
        output = np.mean([[label in t for label in labels] for t in train.targets], axis=0)
        chosen = [label for label, share in zip(labels, output, strict=True) if share >= 0.5]
        rule = "always {" + ", ".join(chosen) + "}" if chosen else "always no label"
    else:
        counts = Counter(str(t) for t in train.targets)
        output = np.array([counts.get(label, 0) for label in labels]) / len(train)
        rule = f"always '{labels[int(np.argmax(output))]}'"
    return _TextPredictor(labels, lambda texts: np.tile(output, (len(texts), 1))), rule


def majority_scores(
    task_type: str, multi_label: bool, splits: dict[str, Examples], labels: list[str]
) -> dict[str, Any] | None:
    """The task's metrics of a predictor that ignores the text, on validation and test.

    Single-label: the training label frequencies as probabilities, so the prediction is
    always the most frequent training label (ties: the first in ``labels``). Multi-label:
    each label's training frequency as its probability at threshold 0.5, so every text gets
    the labels on at least half the training texts (usually none). Score: the training mean.
    Returns ``{"rule", "validation", "test"}`` (a split that is missing or empty has no key;
    ``rule`` says what is predicted), or None for a tag task or without training data.
    """
    train = splits.get("train")
    if task_type == "tag" or train is None or not len(train):
        return None
    predictor, rule = _majority_predictor(task_type, multi_label, train, labels)
    return {"rule": rule, **_scores(_task(task_type, multi_label), predictor, splits)}
