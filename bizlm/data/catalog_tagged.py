"""Build a tagged (named-entity) catalog dataset: drop repeats, split with a seed, write JSONL.

Each split file holds one sentence a line, ``{"tokens": [...], "tags": [...]}`` with BIO tags,
readable by :func:`bizlm.data.tagged.read_tagged`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from bizlm.atomic import atomic_directory
from bizlm.data.catalog_entries import META_VERSION, SPLIT_FRACTIONS, SPLIT_SEED, CatalogEntry
from bizlm.data.splits import stratified_split
from bizlm.data.tagged import TaggedSentences
from bizlm.data.tags import bio_to_spans
from bizlm.errors import CatalogError

VALIDATION_SHARE = 0.1  # of the train file, when the package ships its own test file


def build_tag_set(
    entry: CatalogEntry, sources: dict[str, TaggedSentences], source: Path, folder: Path
) -> None:
    """Write ``train``/``validation``/``test.jsonl`` and ``meta.json`` into ``folder`` atomically.

    ``sources`` is ``{"all": ...}``, split train/validation/test by SPLIT_FRACTIONS, or
    ``{"train": ..., "test": ...}``: the package's test file is kept whole and validation is a
    seeded share of the train file. Splits are stratified on whether a sentence has entities.
    In what is split, a repeated sentence (same tokens) is dropped, the first kept, and so is
    a sentence that also occurs in the package's test file.
    """
    test = sources.get("test")
    pool = sources["all"] if "all" in sources else sources["train"]
    kept, cleaning = _dedupe(pool, test)
    if len(kept) < len(SPLIT_FRACTIONS):
        raise CatalogError(
            f"Archive '{source}' gave only {len(kept)} usable sentences for dataset"
            f" '{entry.name}'.",
            hint="The file is damaged or a different version: delete it and fetch again.",
        )
    fractions = (
        dict(SPLIT_FRACTIONS)
        if test is None
        else {"train": 1 - VALIDATION_SHARE, "validation": VALIDATION_SHARE}
    )
    strata = ["entities" if set(tags) != {"O"} else "none" for tags in kept.tags]
    parts = stratified_split(strata, fractions, SPLIT_SEED)
    splits = {name: kept.subset(parts[name]) for name in fractions}
    if test is not None:
        splits["test"] = test
    cleaning["source_sentences"] = {name: len(part) for name, part in sources.items()}
    cleaning["tags_repaired"] = sum(part.repairs for part in sources.values())
    meta: dict[str, Any] = dataclasses.asdict(entry)
    meta.update(
        meta_version=META_VERSION,
        label_columns=list(entry.label_columns),
        archive=source.name,
        tag_scheme="BIO",
        sentences=sum(len(part) for part in splits.values()),
        counts={},
        token_counts={},
        entity_counts={},
        sha256={},
        split={
            "seed": SPLIT_SEED,
            "fractions": fractions,
            "stratified_on": "has entities",
            "test": "the package's own test file" if test is not None else "seeded share",
        },
        cleaning=cleaning,
    )
    with atomic_directory(folder) as staging:
        for name in SPLIT_FRACTIONS:
            part = splits[name]
            data = "".join(
                json.dumps({"tokens": tokens, "tags": tags}, ensure_ascii=False) + "\n"
                for tokens, tags in zip(part.tokens, part.tags, strict=True)
            ).encode()
            (staging / f"{name}.jsonl").write_bytes(data)
            meta["sha256"][f"{name}.jsonl"] = hashlib.sha256(data).hexdigest()
            meta["counts"][name] = len(part)
            meta["token_counts"][name] = sum(len(tokens) for tokens in part.tokens)
            types = Counter(kind for tags in part.tags for kind, _, _ in bio_to_spans(tags))
            meta["entity_counts"][name] = dict(sorted(types.items()))
        text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        (staging / "meta.json").write_text(text, encoding="utf-8")


def _dedupe(
    pool: TaggedSentences, test: TaggedSentences | None
) -> tuple[TaggedSentences, dict[str, Any]]:
    """Drop repeated sentences of ``pool`` and those in ``test``; return the rest and a report."""
    in_test = {tuple(tokens) for tokens in test.tokens} if test is not None else set()
    first_tags: dict[tuple[str, ...], list[str]] = {}
    keep: list[int] = []
    removed = Counter({"duplicate sentence": 0})
    if test is not None:
        removed["also in the test file"] = 0
    conflicts = 0
    for index, (tokens, tags) in enumerate(zip(pool.tokens, pool.tags, strict=True)):
        key = tuple(tokens)
        if key in in_test:
            removed["also in the test file"] += 1
        elif key in first_tags:
            removed["duplicate sentence"] += 1
            conflicts += first_tags[key] != tags
        else:
            first_tags[key] = tags
            keep.append(index)
    report = {"removed": dict(removed), "duplicates_with_other_tags": conflicts}
    return pool.subset(keep), report
