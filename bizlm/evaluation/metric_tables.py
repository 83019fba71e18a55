"""Turn any task's metrics dict into rows for people: shared by the HTML report and the card.

A metrics dict comes from one of the metric functions of :mod:`bizlm.evaluation`
(classification, multi-label, entity, regression, ranking, or a merge of the last two) or of
:mod:`bizlm.metrics.generation` (generated text). These helpers find what it holds, so the
renderers never assume a task.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

METRIC_NAMES = {
    "n": "Examples",
    "n_groups": "Groups",
    "accuracy": "Accuracy",
    "macro_f1": "Macro-F1",
    "weighted_f1": "Weighted F1",
    "macro_precision": "Macro precision",
    "macro_recall": "Macro recall",
    "ece": "ECE (expected calibration error)",
    "log_loss": "Log loss",
    "micro_f1": "Micro-F1",
    "micro_precision": "Micro precision",
    "micro_recall": "Micro recall",
    "subset_accuracy": "Subset accuracy (exact match)",
    "hamming_loss": "Hamming loss",
    "f1": "Entity F1 (micro)",
    "precision": "Entity precision (micro)",
    "recall": "Entity recall (micro)",
    "token_accuracy": "Token accuracy",
    "mse": "MSE",
    "rmse": "RMSE",
    "mae": "MAE",
    "pearson": "Pearson r",
    "spearman": "Spearman rho",
    "r2": "R²",
    "mrr": "MRR",
    "auc": "AUC (mean over groups)",
    "global_auc": "AUC (all items)",
    "relevance_threshold": "Relevance threshold",
    "groups_skipped": "Groups skipped (one item or one class)",
    "count": "Examples",
    "rouge_l": "ROUGE-L (F-measure)",
    "chrf": "chrF",
    "exact_match": "Exact match",
    "json_valid": "Valid JSON",
    "json_field_accuracy": "JSON field accuracy",
    "perplexity": "Perplexity",
}
# key figures, most telling first; "ndcg@" stands for any cut-off
_HEADLINE_KEYS = (
    *("accuracy", "micro_f1", "f1", "macro_f1", "subset_accuracy", "ece", "token_accuracy"),
    *("rmse", "mae", "pearson", "spearman", "ndcg@", "mrr", "auc"),
    *("json_field_accuracy", "json_valid", "rouge_l", "chrf", "exact_match", "perplexity"),
)
_COUNT_KEYS = ("n", "n_groups", "count")  # the number of examples (or groups) scored
_ITEM_FIELDS = ("precision", "recall", "f1", "support")
# (metrics key, section title, first column, HTML table class)
_PER_ITEM = (
    ("per_class", "Per-class scores", "label", "per-class"),
    ("per_type", "Per-entity-type scores", "entity type", "per-type"),
)


def format_value(value: Any) -> str:
    """Render a number or other value for people: floats to 4 decimals, ints with separators."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def metric_value(value: Any) -> str:
    """Render a metric for people: like :func:`format_value`, with ``None`` as "n/a"."""
    return "n/a" if value is None else format_value(value)


def markdown_text(value: Any) -> str:
    """A value made safe inside a Markdown table cell or line (see :func:`format_value`)."""
    text = format_value(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def markdown_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[str]:
    """The lines of a Markdown table, every cell made safe with :func:`markdown_text`."""
    lines = ["| " + " | ".join(markdown_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in rows]
    return lines


def metric_name(key: str) -> str:
    """Readable name of a metrics key, e.g. ``ndcg@10`` -> ``NDCG@10``; unknown keys unchanged."""
    if key.startswith("ndcg@"):
        return f"NDCG@{key[5:]}"
    return METRIC_NAMES.get(key, key)


def _is_scalar(value: Any) -> bool:
    """Whether ``value`` is a single metric figure: a number (not a bool) or ``None``."""
    return value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool))


def scalar_metrics(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every top-level number (or ``None``) in ``metrics`` as ``(key, value)``, in order.

    Tables (per-class scores, thresholds, …), text and nested sections (such as the
    validation scores a bundle keeps beside its test scores) are left out.
    """
    return [(str(key), value) for key, value in metrics.items() if _is_scalar(value)]


def headline_keys(metrics: Mapping[str, Any]) -> list[str]:
    """Up to three key figures of the task, then the example (or group) count."""
    keys = [key for key, _ in scalar_metrics(metrics)]
    chosen: list[str] = []
    for wanted in _HEADLINE_KEYS:
        prefix = wanted.endswith("@")
        match = next((k for k in keys if k == wanted or (prefix and k.startswith(wanted))), None)
        if match and match not in chosen:
            chosen.append(match)
    return chosen[:3] + [k for k in _COUNT_KEYS if k in keys][:1]


def entity_types(labels: Sequence[Any]) -> list[str]:
    """Entity types named by IOB2 tags (``B-PER``, ``I-PER`` -> ``PER``) or given directly."""
    types = (str(x)[2:] if str(x)[:2] in ("B-", "I-") else str(x) for x in labels)
    return list(dict.fromkeys(t for t in types if t != "O"))


def _ordered(names: Sequence[Any], labels: Sequence[Any]) -> list[str]:
    """``labels`` first (in their order), then any other ``names``."""
    first = [str(label) for label in labels]
    return [*first, *(str(name) for name in names if str(name) not in first)]


def per_item_tables(
    metrics: Mapping[str, Any], labels: Sequence[str]
) -> list[tuple[str, str, str, list[tuple[Any, ...]]]]:
    """The per-class and per-entity-type tables present in ``metrics``.

    Each is ``(section title, first column, HTML table class, rows)``; a row is ``(name,
    precision, recall, f1, support)``, ``None`` where a score is missing. Per-class rows
    follow ``labels``, then any other label; per-type rows keep the metrics' order.
    """
    tables = []
    for key, title, column, css in _PER_ITEM:
        scores = metrics.get(key) or {}
        if scores:
            names = _ordered(list(scores), labels if key == "per_class" else [])
            rows = [(name, *(scores.get(name, {}).get(f) for f in _ITEM_FIELDS)) for name in names]
            tables.append((title, column, css, rows))
    return tables


def threshold_rows(metrics: Mapping[str, Any], labels: Sequence[str]) -> list[tuple[str, Any]]:
    """``(label, decision threshold)`` rows of a multi-label model; empty when it has none."""
    thresholds = metrics.get("thresholds") or {}
    if not thresholds:
        return []
    return [(name, thresholds.get(name)) for name in _ordered(list(thresholds), labels)]
