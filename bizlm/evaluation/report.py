"""Self-contained HTML evaluation report for any task: tables plus pictures embedded as PNGs."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizlm.atomic import atomic_write_text
from bizlm.evaluation.baseline_view import baseline_html
from bizlm.evaluation.metric_tables import (
    format_value,
    headline_keys,
    metric_name,
    metric_value,
    per_item_tables,
    scalar_metrics,
    threshold_rows,
)
from bizlm.evaluation.samples_view import samples_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LOSS_SERIES = (("train_loss", "train loss"), ("val_loss", "validation loss"))
_CARD_NAMES = {"n": "n", "ece": "ECE"}
_MAX_TICK_CHARS = 24
_ANNOTATE_ALL_CELLS_UP_TO = 20

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.headline { display: flex; gap: 1.5em; margin: 1em 0 1.5em; }
.headline div { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1.2em; }
.headline .value { font-size: 1.6em; font-weight: bold; }
img { max-width: 100%; }
.note { color: #666; font-style: italic; }
.verdict { font-size: 1.15em; padding: 0.6em 1em; border-left: 5px solid #2e7d32;
  background: #edf7ee; }
.verdict.fail { border-color: #c62828; background: #fdecea; }
"""


def _e(value: Any) -> str:
    return html.escape(format_value(value))


def _num(value: Any) -> str:
    return f'<td class="num">{html.escape(metric_value(value))}</td>'


def _plain(text: str) -> str:
    """Make ``text`` safe for a matplotlib label: no mathtext, bounded length."""
    text = str(text)
    if len(text) > _MAX_TICK_CHARS:
        text = text[: _MAX_TICK_CHARS - 1] + "\u2026"
    return text.replace("$", r"\$")


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure of the given size in inches, laid out to fit its labels."""
    # Figure needs no pyplot backend; imported here so importing bizlm.evaluation stays light.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def png_data_uri(fig: Figure) -> str:
    """The figure as an embeddable ``data:image/png`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _series(history: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = [(r["step"], r[key]) for r in history if r.get(key) is not None and "step" in r]
    return [p[0] for p in points], [p[1] for p in points]


def _score_series(history: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Validation metrics other than the loss, in order of first appearance."""
    keys = dict.fromkeys(
        key
        for record in history
        for key, value in record.items()
        if key.startswith("val_") and key != "val_loss" and isinstance(value, int | float)
    )
    return [(key, f"validation {metric_name(key[4:])}") for key in keys]


def _learning_curves_png(history: Sequence[dict[str, Any]]) -> str:
    fig = new_figure(10, 3.8)
    loss_ax, score_ax = fig.subplots(1, 2)
    scores = _score_series(history)
    panels = ((loss_ax, _LOSS_SERIES, "Loss"), (score_ax, scores, "Validation score"))
    for ax, series, ylabel in panels:
        plotted = False
        for key, name in series:
            steps, values = _series(history, key)
            if steps:
                ax.plot(steps, values, marker="o" if len(steps) < 30 else None, label=name)
                plotted = True
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if plotted:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
    return png_data_uri(fig)


def _confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    k = len(labels)
    side = min(max(4.0, 0.45 * k + 2.5), 30.0)
    fig = new_figure(side + 1, side)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    names = [_plain(label) for label in labels]
    ax.set_xticks(range(k), names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = max((max(row) for row in matrix), default=0)
    fontsize = 10 if k <= 10 else 7
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count or k <= _ANNOTATE_ALL_CELLS_UP_TO:
                colour = "white" if peak and count > peak / 2 else "black"
                ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=fontsize)
    return png_data_uri(fig)


def _reliability_png(bins: Sequence[dict[str, Any]]) -> str:
    fig = new_figure(5, 4.5)
    ax = fig.subplots()
    filled = [b for b in bins if b["count"]]
    ax.bar(
        [b["lower"] for b in filled],
        [b["accuracy"] for b in filled],
        width=[b["upper"] - b["lower"] for b in filled],
        align="edge",
        edgecolor="black",
        label="accuracy in bin",
    )
    ax.plot(
        [b["confidence"] for b in filled],
        [b["accuracy"] for b in filled],
        "o",
        color="darkorange",
        label="mean confidence",
    )
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left")
    return png_data_uri(fig)


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _summary_table(summary: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{_e(value)}</td></tr>"
        for key, value in summary.items()
    )
    return f"<table>{rows}</table>" if rows else _note("No summary given.")


def _headline(metrics: dict[str, Any]) -> str:
    """Cards with the task's key figures, then a table of every scalar metric."""
    cells = "".join(
        f"<div><div>{html.escape(_CARD_NAMES.get(k) or metric_name(k))}</div>"
        f'<div class="value">{html.escape(metric_value(metrics[k]))}</div></div>'
        for k in headline_keys(metrics)
    )
    rows = "".join(
        f"<tr><th>{html.escape(metric_name(key))}</th>{_num(value)}</tr>"
        for key, value in scalar_metrics(metrics)
    )
    table = f'<table class="metrics">{rows}</table>' if rows else _note("No scalar metrics.")
    return f'<div class="headline">{cells}</div>\n{table}'


def _per_item_sections(metrics: dict[str, Any], labels: Sequence[str]) -> list[str]:
    sections = []
    for title, column, css, rows in per_item_tables(metrics, labels):
        names = (column, "precision", "recall", "F1", "support")
        head = "<tr>" + "".join(f"<th>{html.escape(name)}</th>" for name in names) + "</tr>"
        body = "".join(
            f"<tr><th>{html.escape(name)}</th>{''.join(_num(v) for v in values)}</tr>"
            for name, *values in rows
        )
        sections.append(f'<h2>{title}</h2>\n<table class="{css}">{head}{body}</table>')
    return sections


def _figure_sections(
    metrics: dict[str, Any], labels: Sequence[str], history: Sequence[dict[str, Any]]
) -> list[str]:
    """Learning curves always; thresholds, confusion matrix and reliability when present."""
    sections = []
    if thresholds := threshold_rows(metrics, labels):
        rows = "".join(f"<tr><th>{html.escape(n)}</th>{_num(t)}</tr>" for n, t in thresholds)
        sections.append(
            "<h2>Decision thresholds</h2>\n<p>A label is predicted when its probability is at "
            f'least its threshold.</p>\n<table class="thresholds"><tr><th>label</th>'
            f"<th>threshold</th></tr>{rows}</table>"
        )
    if history:
        curves = _img(_learning_curves_png(history), "learning curves")
    else:
        curves = _note("No training history was recorded.")
    sections.append(f"<h2>Learning curves</h2>\n{curves}")
    if matrix := metrics.get("confusion_matrix"):
        sections.append(
            "<h2>Confusion matrix</h2>\n<p>Rows are true labels, columns predicted labels.</p>\n"
            + _img(_confusion_png(matrix, labels), "confusion matrix")
        )
    if bins := metrics.get("reliability_bins"):
        sections.append(
            "<h2>Reliability diagram</h2>\n<p>Bars show accuracy per confidence bin; a "
            "well-calibrated model follows the diagonal.</p>\n"
            + _img(_reliability_png(bins), "reliability diagram")
        )
    return sections


def render_report(
    *,
    title: str,
    metrics: dict[str, Any],
    labels: Sequence[str],
    history: Sequence[dict[str, Any]],
    summary: dict[str, Any],
    extra_sections: Sequence[str] = (),
    baseline: dict[str, Any] | None = None,
    majority: dict[str, Any] | None = None,
    verdict: dict[str, Any] | None = None,
) -> str:
    """Render a self-contained HTML evaluation report for any task.

    ``metrics`` is the output of one of the metric functions of :mod:`bizlm.evaluation`
    (classification, multi-label, entity, regression, ranking, or a merge of the last two).
    Every scalar metric is shown; per-class or per-entity-type scores, decision thresholds, a
    confusion matrix, a reliability diagram and sample generations are shown when present.
    ``labels`` orders the per-class rows and names the confusion matrix axes (may be empty).
    ``history`` is a list of training-log records (``step``, ``epoch``, ``train_loss``,
    ``val_loss`` and any ``val_<metric>``); ``summary`` is shown as a key/value table.
    Pictures are embedded as base64 PNG data URIs; every user-supplied string is HTML-escaped.
    ``extra_sections`` are ready HTML fragments appended at the end (already escaped).
    ``baseline``, ``majority`` and ``verdict`` (see :mod:`bizlm.evaluation.verdict`) add a
    "Baseline" section after the summary: the verdict, highlighted, and the comparison.
    """
    body = "\n".join(
        [
            f"<h2>Summary</h2>\n{_summary_table(summary)}",
            *baseline_html(metrics, baseline, majority, verdict),
            f"<h2>Headline metrics</h2>\n{_headline(metrics)}",
            *_per_item_sections(metrics, labels),
            *_figure_sections(metrics, labels, history),
            *samples_html(metrics),
            *extra_sections,
        ]
    )
    safe_title = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{safe_title}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{safe_title}</h1>
{body}
</body>
</html>
"""


def write_report(path: Path, **kwargs: Any) -> None:
    """Render the report (same keyword arguments as :func:`render_report`) and write it
    atomically to ``path``."""
    atomic_write_text(Path(path), render_report(**kwargs))
