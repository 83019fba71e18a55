"""The "Baseline" part of the report and the model card: the model beside a TF-IDF baseline
and the majority-class predictor on the headline split, the margins, and the verdict."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from bizlm.evaluation.metric_tables import (
    headline_keys,
    markdown_table,
    markdown_text,
    metric_name,
    metric_value,
)
from bizlm.evaluation.verdict import (
    BASELINE_TITLES,
    headline_split,
    metric_words,
    signed_points,
    split_metrics,
)

_NOT_COMPARED = ("n", "n_groups", "ece")  # counts, and a calibration error lower for constants
_MODEL_PARAMETERS = ("C", "alpha", "max_iter", "class_weight")
_MAX_COLUMNS = 3

Table = tuple[list[str], list[list[str]]]


def _title(baseline: Mapping[str, Any]) -> str:
    name = str(baseline.get("name"))
    return BASELINE_TITLES.get(name, name)


def _split(metrics: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> str | None:
    return (verdict or {}).get("split") or headline_split(metrics)


def _table(
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    majority: Mapping[str, Any] | None,
    verdict: Mapping[str, Any] | None,
) -> Table | None:
    """Header and rows (model, baseline, majority class) of the comparison on the verdict's
    split, or None when there is nothing to compare."""
    split = _split(metrics, verdict)
    model = split_metrics(metrics, split) if split else None
    if model is None or not (baseline or majority):
        return None
    primary = (verdict or {}).get("metric")
    others = [k for k in headline_keys(model) if k not in (primary, *_NOT_COMPARED)]
    columns = [primary] if primary else []
    columns = [*columns, *others][:_MAX_COLUMNS]
    header = ["Predictor", *(metric_name(k) for k in columns)]
    if primary:
        header.append(f"Model's margin ({metric_words(primary)} points)")
    rows = []
    for name, source in (
        ("This model", metrics),
        (_title(baseline) if baseline else "", baseline),
        (f"Majority class ({majority.get('rule')})" if majority else "", majority),
    ):
        scores = split_metrics(source, split)
        if scores is None:
            continue
        row = [name, *(metric_value(scores.get(k)) for k in columns)]
        if primary:
            row.append("" if source is metrics else _margin(model, scores, primary))
        rows.append(row)
    return header, rows


def _margin(model: Mapping[str, Any], other: Mapping[str, Any], metric: str) -> str:
    """The model's lead in points (an undefined score counts as 0, as in the verdict)."""
    return signed_points(round(100 * ((model.get(metric) or 0.0) - (other.get(metric) or 0.0)), 2))


def _note(baseline: Mapping[str, Any] | None, split: str | None) -> str:
    """How the baseline was built, in one sentence."""
    if not baseline:
        return f"Scores on the {split} split; no TF-IDF baseline was fitted for this task."
    settings = baseline.get("settings", {})
    parameters = ", ".join(f"{k}={settings[k]}" for k in _MODEL_PARAMETERS if k in settings)
    thresholds = settings.get("thresholds")
    tuned = f"; decision thresholds: {thresholds}" if thresholds else ""
    return (
        f"Scores on the {split} split. Baseline: {baseline.get('features')}, "
        f"{settings.get('model')}({parameters}), fitted on the training split in "
        f"{baseline.get('train_seconds')} s{tuned}."
    )


def _failed(verdict: Mapping[str, Any]) -> bool:
    checks = ("beats_baseline", "beats_majority", "passed")
    return any(verdict.get(check) is False for check in checks)


def _verdict_html(verdict: Mapping[str, Any] | None) -> list[str]:
    """The verdict sentence as a highlighted paragraph (red when the model fell short)."""
    if not verdict or not verdict.get("message"):
        return []
    css = "verdict fail" if _failed(verdict) else "verdict"
    return [f'<p class="{css}">{html.escape(str(verdict["message"]))}</p>']


def baseline_html(
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    majority: Mapping[str, Any] | None,
    verdict: Mapping[str, Any] | None,
) -> list[str]:
    """The report's "Baseline" section: the verdict, then the comparison table and how the
    baseline was built (no section when there is neither a verdict nor anything to compare)."""
    parts = _verdict_html(verdict)
    table = _table(metrics, baseline, majority, verdict)
    if table is not None:
        header, rows = table
        head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
        body = "".join(
            f"<tr><th>{html.escape(name)}</th>"
            + "".join(f'<td class="num">{html.escape(v)}</td>' for v in values)
            + "</tr>"
            for name, *values in rows
        )
        note = html.escape(_note(baseline, _split(metrics, verdict)))
        parts += [f'<table class="baseline">{head}{body}</table>', f'<p class="note">{note}</p>']
    return ["<h2>Baseline</h2>", *parts] if parts else []


def baseline_markdown(
    metrics: Mapping[str, Any] | None,
    baseline: Mapping[str, Any] | None,
    majority: Mapping[str, Any] | None,
    verdict: Mapping[str, Any] | None,
) -> list[str]:
    """The model card's "Baseline" subsection as lines, led by a blank line: the verdict in
    bold, the comparison table and how the baseline was built (none when there is neither a
    verdict nor anything to compare)."""
    lines = []
    if verdict and verdict.get("message"):
        lines += ["", f"**{markdown_text(verdict['message'])}**"]
    table = _table(metrics or {}, baseline, majority, verdict)
    if table is not None:
        note = _note(baseline, _split(metrics or {}, verdict))
        lines += ["", *markdown_table(*table), "", markdown_text(note)]
    return ["", "### Baseline", *lines] if lines else []
