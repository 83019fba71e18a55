"""The replay memory: a bounded, class-balanced sample of past examples kept in the bundle.

Each label keeps its own reservoir (Vitter's algorithm R) of at most ``per_class`` items, so
every label seen is represented equally however unbalanced the stream was, and every example a
label ever had stood the same chance of being kept. Items are texts or, where raw text may not
be kept, the vectors the classification head reads.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from bizlm.atomic import atomic_write_text

MEMORY_DIR = "continual"
_STATE = "memory.json"
_TEXTS = "memory.jsonl"
_VECTORS = "memory.safetensors"


@dataclass
class ReplayMemory:
    """Per-label reservoirs; ``items[label]`` holds texts or 1-D tensors."""

    per_class: int
    keep: str = "text"
    seed: int = 13
    items: dict[str, list[Any]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    def add(self, label: str, item: Any, rng: random.Random) -> None:
        """Offer one example of ``label`` to its reservoir."""
        count = self.seen.get(label, 0) + 1
        self.seen[label] = count
        bucket = self.items.setdefault(label, [])
        if len(bucket) < self.per_class:
            bucket.append(item)
            return
        slot = rng.randrange(count)
        if slot < self.per_class:
            bucket[slot] = item

    def add_all(self, labels: Sequence[str], items: Sequence[Any], stage: int) -> None:
        """Offer a stage's examples in order; the draw is seeded by the memory seed and stage."""
        rng = random.Random(f"{self.seed}:{stage}")
        for label, item in zip(labels, items, strict=True):
            self.add(str(label), item, rng)

    def resize(self, per_class: int) -> None:
        """Change the bound; a smaller one drops each label's newest surplus items."""
        self.per_class = per_class
        for bucket in self.items.values():
            del bucket[per_class:]

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self.items.values())

    def examples(self) -> tuple[list[str], list[Any]]:
        """(labels, items) of everything remembered, label by label."""
        labels = [label for label, bucket in self.items.items() for _ in bucket]
        items = [item for bucket in self.items.values() for item in bucket]
        return labels, items

    def save(self, bundle: Path) -> None:
        """Write the memory under ``bundle/continual/``."""
        folder = bundle / MEMORY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        state = {"per_class": self.per_class, "keep": self.keep, "seed": self.seed}
        state["seen"] = self.seen
        state["order"] = {label: len(bucket) for label, bucket in self.items.items()}
        atomic_write_text(folder / _STATE, json.dumps(state, indent=2) + "\n")
        labels, items = self.examples()
        if self.keep == "text":
            lines = (
                json.dumps({"label": lbl, "text": t}, ensure_ascii=False)
                for lbl, t in zip(labels, items, strict=True)
            )
            atomic_write_text(folder / _TEXTS, "".join(f"{line}\n" for line in lines))
        elif items:
            save_file({"vectors": torch.stack(items).contiguous()}, str(folder / _VECTORS))

    @classmethod
    def load(cls, bundle: Path) -> ReplayMemory | None:
        """The memory stored in ``bundle``, or None when it has none."""
        folder = bundle / MEMORY_DIR
        if not (folder / _STATE).is_file():
            return None
        state = json.loads((folder / _STATE).read_text(encoding="utf-8"))
        memory = cls(int(state["per_class"]), str(state["keep"]), int(state["seed"]))
        memory.seen = {k: int(v) for k, v in state["seen"].items()}
        if memory.keep == "text":
            rows = [json.loads(line) for line in (folder / _TEXTS).read_text("utf-8").splitlines()]
            items: list[Any] = [row["text"] for row in rows]
        else:
            vectors = folder / _VECTORS
            items = list(load_file(str(vectors))["vectors"]) if vectors.is_file() else []
        position = 0
        for label, size in state["order"].items():
            memory.items[label] = items[position : position + size]
            position += size
        return memory
