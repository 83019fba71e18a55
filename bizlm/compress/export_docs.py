"""The report and model card of an exported bundle: what was done and how it compares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.bundle_info import BundleInfo
from bizlm.evaluation import write_report


def export_summary(info: BundleInfo) -> dict[str, Any]:
    """Key facts of an export, for the report's summary table and the model card."""
    compression = info.compression
    parity = info.parity or {}
    summary: dict[str, Any] = {
        "source bundle": compression["source"],
        "format": compression["format"],
        "runtime": info.runtime,
        "quantisation": compression["quantize"],
        "pruning": ", ".join(compression["prune"]) or "none",
        "heads per layer": compression.get("heads_per_layer") or "unchanged",
        "linear-layer sparsity": compression["linear_sparsity"],
        "adapter merged at export": compression["merged_adapter"],
        "model files (MB)": round(sum(compression["files"].values()) / 1e6, 2),
        "parity sample (validation texts)": parity["n"],
        "label agreement with source": parity["label_agreement"],
        "max probability difference": parity["max_probability_difference"],
        "validation macro-F1 source -> export": (
            f"{parity['source_macro_f1']:.4f} -> {parity['export_macro_f1']:.4f}"
        ),
        "macro-F1 change (points)": round(parity["macro_f1_change_points"], 3),
        "allowed drop (points)": parity["max_drop_points"],
        "rejected": info.rejected,
    }
    recovery = compression.get("recovery")
    if recovery:
        summary["recovery fine-tune"] = (
            f"{recovery['epochs']} epoch(s) at learning rate {recovery['learning_rate']:g}, "
            f"{recovery['train_seconds']} s"
        )
    return summary


def write_documents(staging: Path, info: BundleInfo, source: Path, name: str) -> None:
    """Write ``report.html`` and ``MODEL_CARD.md`` (the source's card plus a compression
    section) into the bundle being written."""
    summary = export_summary(info)
    recovery = info.compression.get("recovery") or {}
    write_report(
        staging / "report.html",
        title=f"bizlm export report: {name}",
        metrics=info.metrics,
        labels=info.labels,
        history=recovery.get("history", []),
        summary=summary,
    )
    card_path = Path(source) / "MODEL_CARD.md"
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else f"# {name}\n"
    lines = ["", "## Compression", "", f"Exported from `{source}` with `bizlm export`.", ""]
    lines += [f"- {key}: {value}" for key, value in summary.items()]
    metrics = info.metrics
    lines += [
        "",
        f"On the {metrics['evaluated_on']} split the exported model scores accuracy "
        f"{metrics['accuracy']:.4f} and macro-F1 {metrics['macro_f1']:.4f} (n={metrics['n']}).",
    ]
    if info.rejected:
        lines += ["", "**This export was rejected by its parity check; do not deploy it.**"]
    (staging / "MODEL_CARD.md").write_text(card.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
