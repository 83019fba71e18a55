"""The forgetting section of an updated bundle's report: accuracy matrix table and heat-map."""

from __future__ import annotations

import html
from typing import Any

from bizlm.continual.stages import StageHistory
from bizlm.evaluation.report import new_figure, png_data_uri


def _cell(value: float | None) -> str:
    shown = "–" if value is None else f"{value:.3f}"
    return f'<td class="num">{shown}</td>'


def _heatmap(matrix: list[list[float | None]]) -> str:
    size = len(matrix)
    grid = [[float("nan")] * size for _ in range(size)]
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value is not None:
                grid[i][j] = value
    fig = new_figure(1.2 + 0.7 * size, 1.0 + 0.6 * size)
    axes = fig.add_subplot()
    image = axes.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis")
    axes.set_xlabel("evaluated on stage")
    axes.set_ylabel("after stage")
    axes.set_xticks(range(size))
    axes.set_yticks(range(size))
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value is not None:
                colour = "black" if value > 0.6 else "white"
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", color=colour)
    fig.colorbar(image, ax=axes, label="accuracy")
    return png_data_uri(fig)


def forgetting_section(history: StageHistory, summary: dict[str, Any], gate: dict[str, Any]) -> str:
    """HTML: the stages, the accuracy matrix (table and heat-map) and the forgetting figures."""
    size = len(history.matrix)
    head = "<tr><th>after stage</th>" + "".join(f"<th>stage {j}</th>" for j in range(size))
    rows = "".join(
        f"<tr><th>{i}</th>{''.join(_cell(row[j] if j < len(row) else None) for j in range(size))}"
        "</tr>"
        for i, row in enumerate(history.matrix)
    )
    stages = "".join(
        f"<tr><th>{stage['index']}</th><td>{html.escape(str(stage['source']))}</td>"
        f"<td>{html.escape(', '.join(stage['labels'] or ['not recorded']))}</td>"
        f'<td class="num">{stage["eval_examples"]}</td>'
        f"{_cell(summary['forgetting'].get(stage['index']))}</tr>"
        for stage in history.stages
    )
    figures = {
        "average accuracy (last row)": summary["average_accuracy"],
        "backward transfer (BWT)": summary["bwt"],
        "old-stage accuracy before": gate.get("old_accuracy_before"),
        "old-stage accuracy after": gate.get("old_accuracy_after"),
    }
    figure_rows = "".join(f"<tr><th>{name}</th>{_cell(v)}</tr>" for name, v in figures.items())
    verdict = ""
    if gate.get("max_forgetting") is not None:
        word = "REJECTED" if gate["rejected"] else "passed"
        verdict = (
            f"<p>Promotion gate (--max-forgetting {gate['max_forgetting']:g}): <b>{word}</b>.</p>"
        )
    return (
        "<h2>Continual learning</h2>\n"
        "<p>Accuracy on each stage's held-out examples (columns) after each update (rows); "
        "backward transfer below zero means forgetting.</p>\n"
        f'<table class="matrix">{head}</tr>{rows}</table>\n'
        f'<img src="{_heatmap(history.matrix)}" alt="accuracy matrix heat-map">\n'
        f"<table>{figure_rows}</table>\n{verdict}\n"
        "<h3>Stages</h3>\n<table><tr><th>stage</th><th>data</th><th>labels</th>"
        f"<th>held-out examples</th><th>forgetting</th></tr>{stages}</table>"
    )
