"""Write the bundle of an update: model, continual state, lineage, forgetting figures, gate."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bizlm.bundle import write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.continual.forgetting import forgetting_summary
from bizlm.continual.memory import MEMORY_DIR, ReplayMemory
from bizlm.continual.report import forgetting_section
from bizlm.continual.stages import StageHistory, save_eval_set
from bizlm.errors import BizlmError
from bizlm.recipe import Recipe
from bizlm.tasks import Examples, Task
from bizlm.training.documents import headline_metrics, training_record, write_documents
from bizlm.training.loop import LoopResult
from bizlm.training.prepare import PreparedData


class ForgettingGateError(BizlmError):
    """The update forgot more of the old labels than ``--max-forgetting`` allows."""

    exit_code = 3


@dataclass
class StageResult:
    """Everything an update produced that its bundle records."""

    parent: Path
    parent_info: BundleInfo
    recipe: Recipe
    task: Task
    data: PreparedData
    strategy: str
    history: StageHistory
    eval_sets: dict[int, Examples | None]
    memory: ReplayMemory | None
    loop: LoopResult
    parameters: tuple[int, int]
    record: dict[str, Any]
    max_forgetting: float | None


def promotion_gate(history: StageHistory, max_forgetting: float | None) -> dict[str, Any]:
    """Old-stage accuracy before and after the last update, and whether the drop is allowed."""
    before_row, after_row = history.matrix[-2], history.matrix[-1]
    old = len(before_row)
    before = history.old_accuracy(before_row)
    after = history.old_accuracy(after_row[:old])
    drop = before - after if before is not None and after is not None else None
    rejected = max_forgetting is not None and drop is not None and drop > max_forgetting
    return {
        "old_accuracy_before": before,
        "old_accuracy_after": after,
        "drop": drop,
        "max_forgetting": max_forgetting,
        "rejected": rejected,
    }


def _all_stages(eval_sets: dict[int, Examples | None]) -> Examples | None:
    kept = [rows for rows in eval_sets.values() if rows is not None]
    if not kept:
        return None
    return Examples(
        texts=[t for rows in kept for t in rows.texts],
        targets=[t for rows in kept for t in rows.targets],
        line_numbers=[n for rows in kept for n in rows.line_numbers],
    )


def write_update_bundle(
    output: Path,
    result: StageResult,
    exported: torch.nn.Module,
    tokenizer: Any,
    state: Path,
    has_adapter: bool,
) -> BundleInfo:
    """Score the updated model, write its bundle, and apply the promotion gate."""
    recipe, task, data, history = result.recipe, result.task, result.data, result.history
    labels = list(data.labels)
    settings = BundleInfo(labels=labels, recipe=recipe.resolved())
    predictor = task.predictor_class()(
        exported, tokenizer, labels, recipe.train.max_length, settings
    )
    metrics = {"validation": task.score(predictor, data.splits["validation"])}
    everything = _all_stages(result.eval_sets)
    if everything is not None:
        metrics["test"] = task.score(predictor, everything)
    headline = headline_metrics(metrics)
    if everything is not None:
        headline["evaluated_on"] = "held-out examples of every stage"
    summary = forgetting_summary(history.matrix)
    gate = promotion_gate(history, result.max_forgetting)
    keep_text = recipe.continual.memory_keep == "text"
    info = BundleInfo(
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        task="classify",
        labels=labels,
        recipe=recipe.resolved(),
        backbone=result.parent_info.backbone,
        parent=str(result.parent),
        lineage=[*result.parent_info.lineage, str(result.parent)],
        data=data.summary,
        metrics=headline,
        training=training_record(result.loop, *result.parameters),
        merged=True,
        rejected=gate["rejected"],
        continual={
            "strategy": result.strategy,
            "stages": history.stages,
            "matrix": history.matrix,
            "summary": summary,
            "gate": gate,
            "memory": None
            if result.memory is None
            else {
                "per_class": result.memory.per_class,
                "keep": result.memory.keep,
                "size": len(result.memory),
            },
            "details": result.record,
        },
    )
    if result.memory is not None:
        result.memory.save(state)
    if keep_text:
        for stage, rows in result.eval_sets.items():
            if rows is not None:
                save_eval_set(state, stage, rows)

    def write_contents(staging: Path) -> None:
        exported.save_pretrained(staging / "model")
        tokenizer.save_pretrained(staging / "model")
        if has_adapter:
            shutil.copytree(state / "adapter", staging / "adapter")
        if (state / MEMORY_DIR).is_dir():
            shutil.copytree(state / MEMORY_DIR, staging / MEMORY_DIR)
        section = forgetting_section(history, summary, gate)
        write_documents(staging, info, data, output.name, extra_sections=[section])

    write_bundle(output, info, write_contents)
    if gate["rejected"]:
        raise ForgettingGateError(
            f"Update rejected: accuracy on the past stages' held-out examples dropped "
            f"{100 * gate['drop']:.2f} points ({gate['old_accuracy_before']:.4f} -> "
            f"{gate['old_accuracy_after']:.4f}), more than --max-forgetting "
            f"{result.max_forgetting:g}. The bundle was written to {output} and marked rejected.",
            hint="Try --strategy replay with a larger continual.memory_per_class, or lwf/ewc.",
        )
    return info
