"""What a bundle records about a training run: headline scores, the training record, and the
human-readable documents (report.html, MODEL_CARD.md)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bizlm import __version__
from bizlm.bundle_info import BundleInfo
from bizlm.evaluation import render_model_card, write_report
from bizlm.training.loop import LoopResult
from bizlm.training.prepare import PreparedData


def headline_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The bundle's headline scores: test when there is a test split, else validation (none
    when the run had no labelled data, as a zero-shot model may)."""
    if not metrics:
        return {"evaluated_on": None}
    headline = metrics.get("test") or metrics["validation"]
    return {
        **headline,
        "evaluated_on": "test" if "test" in metrics else "validation",
        "validation": metrics.get("validation"),
    }


def training_record(loop: LoopResult, trainable_params: int, total_params: int) -> dict[str, Any]:
    """What the bundle records about a finished training loop."""
    return {
        "history": loop.history,
        "best": loop.best,
        "weights_kept": loop.weights_kept,
        "stopped_early": loop.stopped_early,
        "interrupted": loop.interrupted,
        "train_seconds": round(loop.train_seconds, 2),
        "samples_per_s": round(loop.samples_per_s, 2),
        "optimizer_steps": loop.optimizer_steps,
        "peak_rss_mb": round(loop.peak_rss_mb, 1),
        "processes": loop.processes,
        "trainable_parameters": trainable_params,
        "total_parameters": total_params,
    }


def _card_data(summary: dict[str, Any]) -> dict[str, Any]:
    """The data description in the shape the model card reads."""
    catalog = summary.get("catalog")
    files = summary.get("files", {})
    return {
        "source": f"bizlm catalog dataset '{catalog['name']}' ({catalog['package']}=="
        f"{catalog['version']})"
        if catalog
        else "user files",
        "files": [f"{path} (sha256 {entry['sha256'][:16]}…)" for path, entry in files.items()],
        "counts": summary.get("counts", {}),
        "label_distribution": summary.get("label_distribution", {}),
        "licence": catalog.get("licence") if catalog else None,
        "rows_skipped": sum(sum(entry["skipped"].values()) for entry in files.values()),
        "notes": summary.get("warnings", []),
    }


def _notes_section(summary: dict[str, Any]) -> list[str]:
    """The data warnings (texts cut at max_length, imbalance, ...) as a report section."""
    notes = summary.get("warnings", [])
    if not notes:
        return []
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return [f"<h2>Data notes</h2>\n<ul>{items}</ul>"]


def write_documents(
    staging: Path,
    info: BundleInfo,
    data: PreparedData,
    name: str,
    extra_sections: Sequence[str] = (),
) -> None:
    """Write the bundle's report.html and MODEL_CARD.md into ``staging`` (``extra_sections``:
    HTML fragments added to the report). Both show the model beside its baseline and the
    majority class, with the verdict, when ``info`` carries them (``metrics.baseline``,
    ``metrics.majority``, ``verdict``)."""
    training = info.training or {}
    summary = {
        "backbone": info.recipe["model"],
        "method": info.method_name,
        "task": info.task,
        "trainable parameters": f"{training['trainable_parameters']:,} of "
        f"{training['total_parameters']:,}",
        "train time (s)": training["train_seconds"],
        "train samples/s": training["samples_per_s"],
        "evaluated on": info.metrics["evaluated_on"],
        "interrupted": training["interrupted"],
    }
    if info.blend and info.blend.get("weight"):
        summary["blend"] = f"TF-IDF model at weight {info.blend['weight']:g} (see the verdict)"
    comparison = {
        "baseline": info.metrics.get("baseline"),
        "majority": info.metrics.get("majority"),
        "verdict": info.verdict,
    }
    write_report(
        staging / "report.html",
        title=f"bizlm report: {name}",
        metrics=info.metrics,
        labels=data.labels,
        history=training["history"],
        summary=summary,
        extra_sections=[*_notes_section(data.summary), *extra_sections],
        **comparison,
    )
    card_summary = {
        "backbone": f"{info.recipe['model']} ({info.backbone_location})",
        "method": info.method_name,
        "task": info.task,
        "trainable_params": training["trainable_parameters"],
        "total_params": training["total_parameters"],
        "bizlm_version": info.versions.get("bizlm", __version__),
    }
    card = render_model_card(
        name=name,
        summary=card_summary,
        labels=data.labels,
        metrics=info.metrics,
        data=_card_data(data.summary),
        **comparison,
    )
    (staging / "MODEL_CARD.md").write_text(card, encoding="utf-8")
