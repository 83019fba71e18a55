"""The stages a continually updated bundle has seen: their labels, their held-out examples
(kept in ``continual/eval/``) and the accuracy matrix over them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bizlm.atomic import atomic_write_text
from bizlm.bundle_info import BundleInfo
from bizlm.continual.memory import MEMORY_DIR
from bizlm.inference import batched_logits, tokenize
from bizlm.tasks import Examples

EVAL_DIR = "eval"


@dataclass
class StageHistory:
    """Stage records (``stages``) and the accuracy matrix, as stored in ``bizlm.json``."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    matrix: list[list[float | None]] = field(default_factory=list)

    @classmethod
    def from_info(cls, info: BundleInfo) -> StageHistory:
        """The history a bundle recorded (empty for a bundle written by ``bizlm train``)."""
        record = info.continual
        return cls(list(record.get("stages", [])), [list(r) for r in record.get("matrix", [])])

    @property
    def next_stage(self) -> int:
        """Index of the stage being added."""
        return len(self.stages)

    def old_accuracy(self, row: list[float | None]) -> float | None:
        """Accuracy over every earlier stage's held-out examples together (size-weighted)."""
        pairs = [
            (accuracy, stage["eval_examples"])
            for accuracy, stage in zip(row, self.stages, strict=False)
            if accuracy is not None
        ]
        total = sum(size for _, size in pairs)
        return sum(a * size for a, size in pairs) / total if total else None


def eval_path(bundle: Path, stage: int) -> Path:
    """Where a bundle keeps the held-out examples of ``stage``."""
    return bundle / MEMORY_DIR / EVAL_DIR / f"stage-{stage}.jsonl"


def save_eval_set(folder: Path, stage: int, examples: Examples) -> None:
    """Write a stage's held-out examples (text and label) under ``folder``."""
    path = eval_path(folder, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        json.dumps({"text": text, "label": str(label)}, ensure_ascii=False)
        for text, label in zip(examples.texts, examples.targets, strict=True)
    )
    atomic_write_text(path, "".join(f"{row}\n" for row in rows))


def load_eval_set(bundle: Path, stage: int) -> Examples | None:
    """A stage's held-out examples kept in ``bundle``, or None when it kept none."""
    path = eval_path(bundle, stage)
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return Examples(
        texts=[row["text"] for row in rows],
        targets=[row["label"] for row in rows],
        line_numbers=list(range(1, len(rows) + 1)),
    )


def stage_accuracy(
    model: torch.nn.Module,
    tokenizer: Any,
    examples: Examples,
    labels: list[str],
    max_length: int,
    batch_size: int,
) -> float:
    """Accuracy on ``examples`` when the model chooses among the first ``len(labels)`` outputs
    (the parent's labels before the update, all labels after)."""
    features = tokenize(tokenizer, examples.texts, max_length)
    pad_id = int(tokenizer.pad_token_id or 0)
    logits = batched_logits(model, features, pad_id, batch_size)[:, : len(labels)]
    index = {label: i for i, label in enumerate(labels)}
    gold = np.array([index.get(str(t), -1) for t in examples.targets])
    return float(np.mean(logits.argmax(axis=1) == gold))
