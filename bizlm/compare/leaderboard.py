"""Aggregate comparison runs into a leaderboard: mean ± std over seeds, Pareto-best marked."""

from __future__ import annotations

import statistics
from typing import Any

COLUMNS = (
    "macro_f1",
    "accuracy",
    "trainable_parameters",
    "train_seconds",
    "samples_per_s",
    "peak_rss_mb",
    "artifact_bytes",
    "bundle_bytes",
    "p50_latency_ms",
)


def summarise(method: str, runs: list[dict[str, Any]], errors: list[str]) -> dict[str, Any]:
    """One leaderboard row from the runs (one per seed) of a method."""
    row: dict[str, Any] = {"method": method, "seeds": len(runs), "errors": errors}
    if not runs:
        return row
    for column in COLUMNS:
        values = [float(run[column]) for run in runs]
        row[column] = statistics.fmean(values)
        row[f"{column}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    row["total_parameters"] = runs[0]["total_parameters"]
    row["trainable_pct"] = 100 * row["trainable_parameters"] / row["total_parameters"]
    row["artifact"] = runs[0]["artifact"]
    return row


def mark_pareto(rows: list[dict[str, Any]]) -> None:
    """Flag rows that no other row beats on both macro-F1 (higher) and trainable parameters
    (fewer) at once."""
    scored = [r for r in rows if "macro_f1" in r]
    for row in rows:
        row["pareto"] = row in scored and not any(
            other["macro_f1"] >= row["macro_f1"]
            and other["trainable_parameters"] <= row["trainable_parameters"]
            and (
                other["macro_f1"] > row["macro_f1"]
                or other["trainable_parameters"] < row["trainable_parameters"]
            )
            for other in scored
        )


def to_markdown(rows: list[dict[str, Any]], title: str) -> str:
    """The leaderboard as a markdown table (best macro-F1 first, failures last)."""
    lines = [
        f"# {title}",
        "",
        "| method | macro-F1 | trainable | train s | samples/s | peak RSS MB | artifact MB "
        "| p50 ms | Pareto |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(rows, key=lambda r: -r.get("macro_f1", -1.0))
    for row in ordered:
        if "macro_f1" not in row:
            lines.append(
                f"| {row['method']} | failed: {'; '.join(row['errors'])[:120]} | | | | | | | |"
            )
            continue
        lines.append(
            f"| {row['method']} | {100 * row['macro_f1']:.2f} ± {100 * row['macro_f1_std']:.2f} "
            f"| {row['trainable_parameters']:,.0f} ({row['trainable_pct']:.2f}%) "
            f"| {row['train_seconds']:.0f} | {row['samples_per_s']:.1f} "
            f"| {row['peak_rss_mb']:.0f} | {row['artifact_bytes'] / 2**20:.2f} "
            f"| {row['p50_latency_ms']:.1f} | {'★' if row['pareto'] else ''} |"
        )
    return "\n".join(lines) + "\n"


def scatter_png(rows: list[dict[str, Any]], path: str, title: str) -> None:
    """Macro-F1 against trainable parameters (log scale), Pareto-best methods highlighted."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    for row in (r for r in rows if "macro_f1" in r):
        colour = "tab:red" if row["pareto"] else "tab:blue"
        axes.errorbar(
            row["trainable_parameters"],
            100 * row["macro_f1"],
            yerr=100 * row["macro_f1_std"],
            fmt="o",
            color=colour,
        )
        axes.annotate(
            row["method"],
            (row["trainable_parameters"], 100 * row["macro_f1"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    axes.set_xscale("log")
    axes.set_xlabel("trainable parameters (log scale)")
    axes.set_ylabel("macro-F1 (points)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
