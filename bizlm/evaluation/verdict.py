"""A plain verdict on a trained model: does it beat a TF-IDF baseline and the majority class?

The model, the baseline (:func:`bizlm.evaluation.baseline.fit_baseline`) and the majority-class
predictor (:func:`bizlm.evaluation.baseline.majority_scores`) are compared on one split (test
when the model was scored on it, else validation) and on the task's primary metric, where
higher is better. An undefined score (``None``: the correlation of constant predictions)
counts as 0 in the comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BASELINE_TITLES = {
    "tfidf-logreg": "TF-IDF + logistic regression",
    "tfidf-ridge": "TF-IDF + ridge regression",
}
_METRIC_WORDS = {"macro_f1": "macro-F1", "micro_f1": "micro-F1", "spearman": "Spearman"}
_LEARNED_NOTHING = {
    "macro_f1": "predicting the most frequent label for every text",
    "micro_f1": "giving every text the same labels",
    "spearman": "predicting the same score for every text",
}
_TASK_CAUSES = {
    "macro_f1": "a strongly imbalanced training set (set regularise.class_weights=balanced)",
    "micro_f1": "labels too rare to learn (add training examples of them)",
    "spearman": "targets on a scale far from 0-1 (rescale them)",
}


def split_metrics(metrics: Mapping[str, Any] | None, split: str) -> Mapping[str, Any] | None:
    """The metrics of one split, from ``{"validation": ..., "test": ...}`` or from a bundle's
    headline metrics (the headline split's scores at the top, marked ``evaluated_on``)."""
    if not metrics:
        return None
    nested = metrics.get(split)
    if isinstance(nested, Mapping):
        return nested
    return metrics if metrics.get("evaluated_on") == split else None


def headline_split(metrics: Mapping[str, Any] | None) -> str | None:
    """``test`` when the metrics hold test scores, else ``validation`` when they hold those."""
    return next((s for s in ("test", "validation") if split_metrics(metrics, s)), None)


def metric_words(metric: str) -> str:
    """How a sentence names a metric key, e.g. ``macro_f1`` -> ``macro-F1``."""
    return _METRIC_WORDS.get(metric, metric)


def _score(metrics: Mapping[str, Any] | None, split: str, metric: str) -> tuple[Any, float | None]:
    """(reported value, compared value) of one predictor; both None without that split."""
    scores = split_metrics(metrics, split)
    if scores is None:
        return None, None
    value = scores.get(metric)
    return value, 0.0 if value is None else float(value)


def signed_points(value: float) -> str:
    """Points with a sign (a true minus sign), one decimal: ``+3.1``, ``−51.2``."""
    return f"{value:+.1f}".replace("-", "\u2212")


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _baseline_sentence(
    words: str, split: str, scores: tuple[Any, Any, str], margin: float, bar: float | None
) -> str:
    """What the margin over the baseline means; ``scores``: (model, baseline, its title)."""
    compared = f"{_number(scores[0])} vs {_number(scores[1])} for {scores[2]}"
    if margin <= 0:
        return (
            f"The model did not beat the baseline on the {split} split: {words} {compared} "
            f"({signed_points(margin)} points)."
        )
    if bar is not None and margin < bar:
        return (
            f"The model beats the baseline on the {split} split by only {signed_points(margin)} "
            f"{words} points ({compared}), short of the required {signed_points(bar)}."
        )
    return (
        f"The model beats the baseline on the {split} split by {signed_points(margin)} {words} "
        f"points ({compared})."
    )


def _majority_sentence(metric: str, model: Any, majority: Any, rule: str | None) -> str:
    causes = [
        "a learning rate too high (training diverged) or too low for the method "
        "(train.learning_rate: about 2e-5 to 5e-5 for full fine-tuning, 1e-4 to 1e-3 for "
        "LoRA and other adapters; a new head may need train.head_learning_rate=1e-3)",
        _TASK_CAUSES.get(metric, "a training set too small or too noisy"),
        "too few epochs (raise train.epochs)",
        "texts cut short (raise train.max_length)",
    ]
    predictor = f"the majority-class predictor ({rule})" if rule else "the majority-class predictor"
    nothing = _LEARNED_NOTHING.get(metric, "a constant prediction")
    return (
        f"It does not beat {predictor}: {metric_words(metric)} {_number(model)} vs "
        f"{_number(majority)}, so it learned nothing beyond {nothing}. Likely causes: "
        + "; ".join(causes)
        + "."
    )


def verdict(
    primary_metric: str,
    model: dict[str, Any],
    baseline: dict[str, Any] | None,
    majority: dict[str, Any] | None,
    min_margin_points: float | None,
) -> dict[str, Any]:
    """Compare the model with the baseline and the majority-class predictor on one split.

    ``model`` is ``{"validation": ..., "test": ...}`` or a bundle's headline metrics;
    ``baseline`` and ``majority`` are the results of ``fit_baseline`` and ``majority_scores``
    (None when there are none). Margins are in points (differences × 100). ``passed`` is
    whether the margin over the baseline reaches ``min_margin_points`` (when None: whether
    the model beats the baseline at all); it is None without a baseline score. ``message``
    says all of it in plain sentences, with likely causes and settings to change when the
    model does not beat the majority-class predictor.
    """
    split = headline_split(model)
    result: dict[str, Any] = {"metric": primary_metric, "split": split}
    result |= dict.fromkeys(("model", "baseline", "majority", "margin_points"))
    result |= dict.fromkeys(("majority_margin_points", "beats_baseline", "beats_majority"))
    result |= {"min_margin_points": min_margin_points, "passed": None}
    if split is None:
        result["message"] = (
            "The model was not scored on labelled data, so it cannot be compared with a baseline."
        )
        return result
    words = metric_words(primary_metric)
    result["model"], model_level = _score(model, split, primary_metric)
    result["baseline"], baseline_level = _score(baseline, split, primary_metric)
    result["majority"], majority_level = _score(majority, split, primary_metric)
    sentences = []
    if baseline and baseline_level is not None:
        margin = round(100 * (model_level - baseline_level), 2)
        bar = min_margin_points
        title = BASELINE_TITLES.get(str(baseline.get("name")), str(baseline.get("name")))
        result |= {
            "margin_points": margin,
            "beats_baseline": margin > 0,
            "passed": margin >= bar if bar is not None else margin > 0,
        }
        scores = (result["model"], result["baseline"], title)
        sentences.append(_baseline_sentence(words, split, scores, margin, bar))
    else:
        sentences.append("No TF-IDF baseline was fitted for this task.")
    if majority and majority_level is not None:
        margin = round(100 * (model_level - majority_level), 2)
        result |= {"majority_margin_points": margin, "beats_majority": margin > 0}
        if margin <= 0:
            rule = majority.get("rule")
            sentences.append(
                _majority_sentence(primary_metric, result["model"], result["majority"], rule)
            )
        elif baseline_level is None:
            sentences.append(
                f"The model beats the majority-class predictor by {signed_points(margin)} {words} "
                f"points ({_number(result['model'])} vs {_number(result['majority'])})."
            )
    result["message"] = " ".join(sentences)
    return result
