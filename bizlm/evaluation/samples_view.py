"""The "Sample generations" part of the report and the model card: a few prompts of the
scored split with their reference answers and the model's answers (a generate model's
``metrics["samples"]``, see ``bizlm.metrics.generation.sample_table``)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from bizlm.evaluation.metric_tables import markdown_table

_COLUMNS = (("prompt", "Prompt"), ("reference", "Reference"), ("generated", "Generated"))
_INTRO = "Greedy answers to prompts of the scored split, beside the reference answers."


def _samples(metrics: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    samples = (metrics or {}).get("samples")
    return [row for row in samples if isinstance(row, Mapping)] if isinstance(samples, list) else []


def samples_html(metrics: Mapping[str, Any] | None) -> list[str]:
    """The report section (one HTML fragment, every text escaped), or none without samples."""
    samples = _samples(metrics)
    if not samples:
        return []
    head = "".join(f"<th>{title}</th>" for _, title in _COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row.get(key, '')))}</td>" for key, _ in _COLUMNS)
        for row in samples
    )
    table = f'<table class="samples"><tr>{head}</tr>{body}</table>'
    return [f"<h2>Sample generations</h2>\n<p>{_INTRO}</p>\n{table}"]


def samples_markdown(metrics: Mapping[str, Any] | None) -> list[str]:
    """The model card's lines (a table, cells made safe), or none without samples."""
    samples = _samples(metrics)
    if not samples:
        return []
    rows = [[row.get(key, "") for key, _ in _COLUMNS] for row in samples]
    header = [title for _, title in _COLUMNS]
    return ["", "### Sample generations", "", _INTRO, "", *markdown_table(header, rows)]
