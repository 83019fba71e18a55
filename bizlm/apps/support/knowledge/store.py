"""The index folder (``build/knowledge/``): what was indexed, from which file versions.

```
knowledge/
  manifest.json    {"format", "model", "max_words", "overlap",
                    "files": {path in docs/: {"sha256", "passages"}}}
  passages.jsonl   every passage of every file (duplicates too), file by file in manifest order
  vectors.npy      one sentence vector per line of passages.jsonl
```
A new index is written to a temporary folder that then replaces the old one whole, so a reader
sees either version, never a mix.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bizlm.apps.support.knowledge.errors import KnowledgeBaseError
from bizlm.apps.support.knowledge.passages import Passage
from bizlm.atomic import atomic_directory, atomic_write_bytes, atomic_write_text

INDEX_FORMAT = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.npy"
_READ_ATTEMPTS = 3  # a reader that meets the folder mid-swap tries again


@dataclass
class IndexedFile:
    """One document's version (SHA-256 of its bytes), passages and their vectors."""

    sha256: str
    passages: list[Passage]
    vectors: np.ndarray


@dataclass
class StoredIndex:
    """Every indexed file, and what the passages and vectors were made with."""

    model: str
    max_words: int
    overlap: int
    files: dict[str, IndexedFile] = field(default_factory=dict)

    def passages(self) -> list[Passage]:
        """The passages of every file, in file order."""
        return [passage for name in sorted(self.files) for passage in self.files[name].passages]

    def vectors(self) -> np.ndarray:
        """One row per passage of :meth:`passages`."""
        return np.concatenate([self.files[name].vectors for name in sorted(self.files)])


def write_index(folder: Path, index: StoredIndex) -> None:
    """Write ``index`` to a temporary folder and swap it in for ``folder``."""
    names = sorted(index.files)
    manifest = {
        "format": INDEX_FORMAT,
        "model": index.model,
        "max_words": index.max_words,
        "overlap": index.overlap,
        "files": {
            name: {"sha256": index.files[name].sha256, "passages": len(index.files[name].passages)}
            for name in names
        },
    }
    lines = [json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in index.passages()]
    vectors = io.BytesIO()
    np.save(vectors, index.vectors().astype(np.float32))
    with atomic_directory(folder) as staging:
        atomic_write_text(staging / PASSAGES, "".join(lines))
        atomic_write_bytes(staging / VECTORS, vectors.getvalue())
        atomic_write_text(staging / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))


def read_index(folder: Path) -> StoredIndex | None:
    """The index in ``folder``, or None when there is none; a damaged one raises."""
    for attempt in range(_READ_ATTEMPTS):
        if not (folder / MANIFEST).is_file():
            if attempt + 1 == _READ_ATTEMPTS:
                return None
        else:
            try:
                return _read(folder)
            except FileNotFoundError:  # replaced while being read
                if attempt + 1 == _READ_ATTEMPTS:
                    raise
        time.sleep(0.05)
    return None


def _read(folder: Path) -> StoredIndex:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        lines = (folder / PASSAGES).read_text(encoding="utf-8").splitlines()
        passages = [Passage.from_json(json.loads(line)) for line in lines if line.strip()]
        vectors = np.load(folder / VECTORS)
        index = StoredIndex(manifest["model"], manifest["max_words"], manifest["overlap"])
        cursor = 0
        for name, entry in manifest["files"].items():
            count = int(entry["passages"])
            index.files[name] = IndexedFile(
                entry["sha256"],
                passages[cursor : cursor + count],
                vectors[cursor : cursor + count],
            )
            cursor += count
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _damaged(folder, f"{type(exc).__name__}: {exc}") from exc
    if manifest.get("format") != INDEX_FORMAT:
        raise _damaged(folder, f"format {manifest.get('format')!r}, expected {INDEX_FORMAT}")
    if cursor != len(passages) or len(vectors) != len(passages):
        raise _damaged(folder, f"{len(passages)} passages, {len(vectors)} vectors, {cursor} listed")
    return index


def _damaged(folder: Path, detail: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(
        f"The knowledge index in {folder} cannot be read ({detail}).",
        hint="Rebuild it with `bizlm app support index PROJECT`.",
    )
