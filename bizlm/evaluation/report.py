"""Self-contained HTML evaluation report: tables plus pictures embedded as base64 PNGs."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizlm.atomic import atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LOSS_SERIES = (("train_loss", "train loss"), ("val_loss", "validation loss"))
_SCORE_SERIES = (("val_macro_f1", "validation macro-F1"), ("val_accuracy", "validation accuracy"))
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
"""


def format_value(value: Any) -> str:
    """Render a number or other value for people: floats to 4 decimals, ints with separators."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _e(value: Any) -> str:
    return html.escape(format_value(value))


def _plain(text: str) -> str:
    """Make ``text`` safe for a matplotlib label: no mathtext, bounded length."""
    text = str(text)
    if len(text) > _MAX_TICK_CHARS:
        text = text[: _MAX_TICK_CHARS - 1] + "\u2026"
    return text.replace("$", r"\$")


def _new_figure(width: float, height: float) -> Figure:
    # Figure needs no pyplot backend; imported here so importing bizlm.evaluation stays light.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _series(history: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = [(r["step"], r[key]) for r in history if r.get(key) is not None and "step" in r]
    return [p[0] for p in points], [p[1] for p in points]


def _learning_curves_png(history: Sequence[dict[str, Any]]) -> str:
    fig = _new_figure(10, 3.8)
    loss_ax, score_ax = fig.subplots(1, 2)
    panels = ((loss_ax, _LOSS_SERIES, "Loss"), (score_ax, _SCORE_SERIES, "Validation score"))
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
    return _png_data_uri(fig)


def _confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    k = len(labels)
    side = min(max(4.0, 0.45 * k + 2.5), 30.0)
    fig = _new_figure(side + 1, side)
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
    return _png_data_uri(fig)


def _reliability_png(bins: Sequence[dict[str, Any]]) -> str:
    fig = _new_figure(5, 4.5)
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
    return _png_data_uri(fig)


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
    items = (("Accuracy", "accuracy"), ("Macro-F1", "macro_f1"), ("ECE", "ece"), ("n", "n"))
    cells = "".join(
        f'<div><div>{name}</div><div class="value">{_e(metrics.get(key, "n/a"))}</div></div>'
        for name, key in items
    )
    return f'<div class="headline">{cells}</div>'


def _per_class_table(metrics: dict[str, Any], labels: Sequence[str]) -> str:
    per_class = metrics.get("per_class") or {}
    if not per_class:
        return _note("No per-class scores.")
    head = "<tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    rows = []
    for label in labels:
        scores = per_class.get(str(label), {})
        cells = "".join(
            f'<td class="num">{_e(scores.get(key))}</td>'
            for key in ("precision", "recall", "f1", "support")
        )
        rows.append(f"<tr><th>{html.escape(str(label))}</th>{cells}</tr>")
    return f'<table class="per-class">{head}{"".join(rows)}</table>'


def render_report(
    *,
    title: str,
    metrics: dict[str, Any],
    labels: Sequence[str],
    history: Sequence[dict[str, Any]],
    summary: dict[str, Any],
) -> str:
    """Render a self-contained HTML evaluation report.

    ``metrics`` is the output of :func:`bizlm.evaluation.classification_metrics`; ``history``
    is a list of training-log records (``step``, ``epoch`` and any of ``train_loss``,
    ``learning_rate``, ``val_loss``, ``val_macro_f1``, ``val_accuracy``); ``summary`` is
    shown as a key/value table. Pictures are embedded as base64 PNG data URIs, and every
    user-supplied string is HTML-escaped.
    """
    if history:
        curves = _img(_learning_curves_png(history), "learning curves")
    else:
        curves = _note("No training history was recorded.")
    matrix = metrics.get("confusion_matrix")
    confusion = (
        _img(_confusion_png(matrix, labels), "confusion matrix")
        if matrix
        else _note("No confusion matrix.")
    )
    bins = metrics.get("reliability_bins")
    reliability = (
        _img(_reliability_png(bins), "reliability diagram")
        if bins
        else _note("No calibration data.")
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
<h2>Summary</h2>
{_summary_table(summary)}
<h2>Headline metrics</h2>
{_headline(metrics)}
<h2>Per-class scores</h2>
{_per_class_table(metrics, labels)}
<h2>Learning curves</h2>
{curves}
<h2>Confusion matrix</h2>
<p>Rows are true labels, columns predicted labels.</p>
{confusion}
<h2>Reliability diagram</h2>
<p>Bars show accuracy per confidence bin; a well-calibrated model follows the diagonal.</p>
{reliability}
</body>
</html>
"""


def write_report(path: Path, **kwargs: Any) -> None:
    """Render the report (same keyword arguments as :func:`render_report`) and write it
    atomically to ``path``."""
    atomic_write_text(Path(path), render_report(**kwargs))
