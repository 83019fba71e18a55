"""Write a cleaned catalog set: a seeded, stratified split into three JSONL files and its
``meta.json`` (counts, checksums, the split and the cleaning report), atomically."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bizlm.atomic import atomic_directory
from bizlm.data.catalog_entries import META_VERSION, SPLIT_FRACTIONS, SPLIT_SEED, CatalogEntry
from bizlm.data.catalog_sources import Record
from bizlm.data.splits import stratified_split


def write_split_set(
    entry: CatalogEntry,
    kept: list[Record],
    source: Path,
    folder: Path,
    *,
    stratify_on: str,
    counted: Sequence[str],
    cleaning: dict[str, Any],
    row: Callable[[Record], dict[str, Any]] = dict,
) -> None:
    """Split ``kept`` (seeded, stratified on ``stratify_on``) and write each part as
    ``<split>.jsonl`` of ``row(record)``, with ``meta.json`` counting ``counted`` per split."""
    parts = stratified_split([r[stratify_on] for r in kept], SPLIT_FRACTIONS, SPLIT_SEED)
    meta: dict[str, Any] = dataclasses.asdict(entry)
    meta.update(
        meta_version=META_VERSION,
        label_columns=list(entry.label_columns),
        archive=source.name,
        rows=len(kept),
        counts={},
        **{f"{column}_counts": {} for column in counted},
        sha256={},
        split={"seed": SPLIT_SEED, "fractions": SPLIT_FRACTIONS, "stratified_on": stratify_on},
        cleaning=cleaning,
    )
    with atomic_directory(folder) as staging:
        for split, indices in parts.items():
            rows = [kept[i] for i in indices]
            data = "".join(json.dumps(row(r), ensure_ascii=False) + "\n" for r in rows).encode()
            (staging / f"{split}.jsonl").write_bytes(data)
            meta["sha256"][f"{split}.jsonl"] = hashlib.sha256(data).hexdigest()
            meta["counts"][split] = len(rows)
            for column in counted:
                counts = Counter(r[column] for r in rows)
                meta[f"{column}_counts"][split] = dict(sorted(counts.items()))
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        (staging / "meta.json").write_text(text, encoding="utf-8")
