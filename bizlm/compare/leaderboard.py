"""Aggregate comparison runs into a leaderboard: mean ± std over seeds, Pareto-best marked."""

from __future__ import annotations

import math
import statistics
from typing import Any

COLUMNS = (
    "score",
    "trainable_parameters",
    "train_seconds",
    "samples_per_s",
    "peak_rss_mb",
    "artifact_bytes",
    "bundle_bytes",
    "p50_latency_ms",
)
OPTIONAL_COLUMNS = ("macro_f1", "accuracy")  # classification scores, kept beside ``score``
SCORE_NAMES = {"macro_f1": "macro-F1", "micro_f1": "micro-F1", "f1": "entity F1"}


def summarise(method: str, runs: list[dict[str, Any]], errors: list[str]) -> dict[str, Any]:
    """One leaderboard row from the runs (one per seed) of a method."""
    row: dict[str, Any] = {"method": method, "seeds": len(runs), "errors": errors}
    if not runs:
        return row
    present = [c for c in OPTIONAL_COLUMNS if all(c in run for run in runs)]
    for column in (*COLUMNS, *present):
        values = [float(run[column]) for run in runs]
        row[column] = statistics.fmean(values)
        row[f"{column}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    row["total_parameters"] = runs[0]["total_parameters"]
    row["trainable_pct"] = 100 * row["trainable_parameters"] / row["total_parameters"]
    row["artifact"] = runs[0]["artifact"]
    row["score_name"] = runs[0]["score_name"]
    return row


def score_label(rows: list[dict[str, Any]]) -> str:
    """How the leaderboard's score is called, e.g. ``macro-F1`` or ``entity F1``."""
    name = next((r["score_name"] for r in rows if "score_name" in r), "score")
    return SCORE_NAMES.get(name, name)


def mark_pareto(rows: list[dict[str, Any]]) -> None:
    """Flag rows that no other row beats on both score (higher) and trainable parameters
    (fewer) at once."""
    scored = [r for r in rows if "score" in r]
    for row in rows:
        row["pareto"] = row in scored and not any(
            other["score"] >= row["score"]
            and other["trainable_parameters"] <= row["trainable_parameters"]
            and (
                other["score"] > row["score"]
                or other["trainable_parameters"] < row["trainable_parameters"]
            )
            for other in scored
        )


def to_markdown(rows: list[dict[str, Any]], title: str) -> str:
    """The leaderboard as a markdown table (best score first, failures last)."""
    lines = [
        f"# {title}",
        "",
        f"| method | {score_label(rows)} | trainable | train s | samples/s | peak RSS MB "
        "| artifact MB | p50 ms | Pareto |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(rows, key=lambda r: -r.get("score", -1.0))
    for row in ordered:
        if "score" not in row:
            lines.append(
                f"| {row['method']} | failed: {'; '.join(row['errors'])[:120]} | | | | | | | |"
            )
            continue
        lines.append(
            f"| {row['method']} | {100 * row['score']:.2f} ± {100 * row['score_std']:.2f} "
            f"| {row['trainable_parameters']:,.0f} ({row['trainable_pct']:.2f}%) "
            f"| {row['train_seconds']:.0f} | {row['samples_per_s']:.1f} "
            f"| {row['peak_rss_mb']:.0f} | {row['artifact_bytes'] / 2**20:.2f} "
            f"| {row['p50_latency_ms']:.1f} | {'★' if row['pareto'] else ''} |"
        )
    return "\n".join(lines) + "\n"


def label_sides(points: list[tuple[float, float]]) -> list[str]:
    """Which side of its point each label goes (``right`` or ``left``) so that labels of
    neighbouring points do not overlap: a point with a close neighbour to its right (within a
    quarter decade of a log-scale x axis and a tenth of the y range) puts its label on the left."""
    ys = [y for _, y in points]
    y_range = (max(ys) - min(ys)) if ys else 0.0
    sides = []
    for x, y in points:
        crowded = x > 0 and any(
            other_x > x and math.log10(other_x / x) < 0.25 and abs(other_y - y) <= 0.1 * y_range
            for other_x, other_y in points
        )
        sides.append("left" if crowded else "right")
    return sides


def scatter_png(rows: list[dict[str, Any]], path: str, title: str) -> None:
    """Score against trainable parameters (log scale), Pareto-best methods in red."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    scored = [r for r in rows if "score" in r]
    points = [(float(r["trainable_parameters"]), 100 * r["score"]) for r in scored]
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for row, (x, y), side in zip(scored, points, label_sides(points), strict=True):
        colour = "tab:red" if row["pareto"] else "tab:blue"
        axes.errorbar(x, y, yerr=100 * row["score_std"], fmt="o", color=colour)
        offset, align = {"right": (5, "left"), "left": (-5, "right")}[side]
        axes.annotate(
            row["method"],
            (x, y),
            textcoords="offset points",
            xytext=(offset, 4),
            ha=align,
            fontsize=8,
        )
    legend = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=label)
        for colour, label in (("tab:red", "Pareto-best"), ("tab:blue", "dominated"))
    ]
    axes.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("trainable parameters (log scale)")
    axes.set_ylabel(f"{score_label(rows)} (points)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
