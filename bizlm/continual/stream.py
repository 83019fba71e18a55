"""``bizlm data stream``: cut a catalog dataset into class-incremental stages, reproducibly.

The labels are shuffled with the seed and dealt into K near-equal groups; stage k holds every
train/validation/test row whose label is in group k. Stage 0 is what ``bizlm train`` starts
from; ``bizlm update`` adds the others one by one.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from bizlm.atomic import atomic_directory
from bizlm.data.catalog import fetch, get_entry
from bizlm.errors import BizlmError
from bizlm.training.prepare import SPLITS

MANIFEST = "stream.json"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def label_groups(labels: list[str], stages: int, seed: int) -> list[list[str]]:
    """``labels`` shuffled with ``seed`` and dealt into ``stages`` near-equal sorted groups."""
    order = sorted(labels)
    random.Random(seed).shuffle(order)
    count = len(order)
    return [sorted(order[k * count // stages : (k + 1) * count // stages]) for k in range(stages)]


def write_stream(
    name: str, stages: int, output: Path, seed: int = 13, label_column: str = "label"
) -> dict[str, Any]:
    """Write ``output/stage-<k>/{train,validation,test}.jsonl`` and ``stream.json``."""
    entry = get_entry(name)
    if entry.kind != "classify":
        raise BizlmError(
            f"Dataset '{name}' is a {entry.kind} set; a class-incremental stream deals the "
            "labels of a classification set into stages.",
            hint="Choose a classify set from 'bizlm data list' (e.g. bbc-news).",
        )
    if label_column not in entry.label_columns:
        raise BizlmError(
            f"Dataset '{name}' has no label column '{label_column}'.",
            hint=f"Choose one of: {', '.join(entry.label_columns)}.",
        )
    folder = fetch(name)
    splits = {split: _rows(folder / f"{split}.jsonl") for split in SPLITS}
    labels = sorted({str(row[label_column]) for row in splits["train"]})
    if not 2 <= stages <= len(labels):
        raise BizlmError(
            f"--stages {stages} does not fit '{name}', which has {len(labels)} labels in "
            f"'{label_column}'.",
            hint=f"Choose between 2 and {len(labels)} stages.",
        )
    groups = label_groups(labels, stages, seed)
    known = set(labels)
    manifest: dict[str, Any] = {
        "dataset": name,
        "label_column": label_column,
        "seed": seed,
        "stages": [],
        # rows whose label never occurs in train cannot be learnt in any stage
        "left_out": {
            split: sum(str(row[label_column]) not in known for row in rows)
            for split, rows in splits.items()
        },
    }
    with atomic_directory(Path(output)) as staging:
        for index, group in enumerate(groups):
            stage_dir = staging / f"stage-{index}"
            stage_dir.mkdir()
            counts = {}
            for split, rows in splits.items():
                kept = [row for row in rows if str(row[label_column]) in group]
                lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept)
                (stage_dir / f"{split}.jsonl").write_text(lines, encoding="utf-8")
                counts[split] = len(kept)
            manifest["stages"].append({"index": index, "labels": group, "counts": counts})
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
