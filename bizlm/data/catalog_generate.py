"""Prompt/response catalog datasets for the ``generate`` task: read, clean, split, write JSONL.

Each split file holds one pair a line, ``{"prompt": ..., "response": ...}``, the rows that
:mod:`bizlm.data.conversations` reads. A converter in ``GENERATE_CONVERTERS`` returns raw
records ``{"prompt", "response", "category"}``; the category (the source file) stratifies the
seeded split so that every split has each topic.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bizlm.data.catalog_entries import SPLIT_FRACTIONS, CatalogEntry
from bizlm.data.catalog_sources import Archive, Record
from bizlm.data.catalog_write import write_split_set
from bizlm.errors import CatalogError


def _listed(document: Any, key: str, archive: Archive, member: str) -> list[Any]:
    """The list under ``key`` in a member's parsed ``document``, else a clear error."""
    found = document.get(key) if isinstance(document, dict) else None
    if not isinstance(found, list):
        raise CatalogError(
            f"Archive '{archive.path}' member '{member}' has no '{key}' list.",
            hint="The archive is not the expected package version: delete it and fetch again.",
        )
    return found


def chatterbot_pairs(archive: Archive, member: str) -> list[Record]:
    """Prompt/response pairs from the ChatterBot corpus YAML files of one language folder.

    Each file holds ``conversations:``, lists of statements in which, as ChatterBot trains on
    them, every statement answers the one before it; each neighbouring pair becomes a record.
    An entry that is not a list of statements (a stray line of text) is skipped.
    """
    files = [name for name in archive.members_under(member) if name.endswith((".yml", ".yaml"))]
    if not files:
        raise CatalogError(
            f"Archive '{archive.path}' has no YAML files under '{member}'.",
            hint="The archive is not the expected package version: delete it and fetch again.",
        )
    records: list[Record] = []
    for name in files:
        try:
            document = yaml.safe_load(archive.read(name).decode("utf-8")) or {}
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0].rstrip(":")
            raise CatalogError(
                f"Archive '{archive.path}' member '{name}' is not valid YAML ({problem}).",
                hint="The file is damaged or a different version: delete it and fetch again.",
            ) from None
        conversations = _listed(document, "conversations", archive, name)
        category = Path(name).stem
        for turns in conversations:
            statements = [str(turn) for turn in turns] if isinstance(turns, list) else []
            for prompt, response in itertools.pairwise(statements):
                records.append({"prompt": prompt, "response": response, "category": category})
    return records


def faq_pairs(archive: Archive, member: str) -> list[Record]:
    """Question/answer pairs from a FAQ JSON file: ``{"questions": [{"q", "a", "category"}]}``.

    The zaragoza-construction-faq package keeps its FAQ in this form; each entry becomes a
    record with the question as prompt and the answer as response, its category kept for the
    stratified split. An entry without a text question and answer is kept with an empty side,
    so the cleaning report counts it.
    """
    try:
        document = json.loads(archive.read(member).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(
            f"Archive '{archive.path}' member '{member}' is not valid JSON ({exc}).",
            hint="The file is damaged or a different version: delete it and fetch again.",
        ) from None
    entries = _listed(document, "questions", archive, member)
    records: list[Record] = []
    for item in entries:
        fields = item if isinstance(item, dict) else {}
        prompt, response = fields.get("q"), fields.get("a")
        records.append(
            {
                "prompt": prompt if isinstance(prompt, str) else "",
                "response": response if isinstance(response, str) else "",
                "category": str(fields.get("category") or "other"),
            }
        )
    return records


GENERATE_CONVERTERS: dict[str, Callable[[Archive, str], list[Record]]] = {
    "chatterbot-en": chatterbot_pairs,
    "chatterbot-zh": chatterbot_pairs,
    "construction-faq": faq_pairs,
}


def build_generate_set(
    entry: CatalogEntry, records: list[Record], source: Path, folder: Path
) -> None:
    """Write ``train``/``validation``/``test.jsonl`` and ``meta.json`` into ``folder`` atomically.

    Prompts and responses are stripped; a pair with an empty side is dropped, and so is a
    repeated prompt (the first pair is kept, so no prompt is in two splits). The split is seeded
    and stratified on the record's category.
    """
    kept, cleaning = _clean(records)
    if len(kept) < len(SPLIT_FRACTIONS):
        raise CatalogError(
            f"Archive '{source}' gave only {len(kept)} usable pairs for dataset '{entry.name}'.",
            hint="The file is damaged or a different version: delete it and fetch again.",
        )
    write_split_set(
        entry,
        kept,
        source,
        folder,
        stratify_on="category",
        counted=("category",),
        cleaning=cleaning,
        row=lambda r: {"prompt": r["prompt"], "response": r["response"]},
    )


def _clean(records: list[Record]) -> tuple[list[Record], dict[str, Any]]:
    """Strip both sides; drop pairs with an empty side and repeated prompts (first one kept)."""
    kept: list[Record] = []
    first_response: dict[str, str] = {}
    removed = Counter({"empty prompt or response": 0, "duplicate prompt": 0})
    other_response = 0
    for record in records:
        prompt, response = record["prompt"].strip(), record["response"].strip()
        if not prompt or not response:
            removed["empty prompt or response"] += 1
        elif prompt in first_response:
            removed["duplicate prompt"] += 1
            other_response += first_response[prompt] != response
        else:
            first_response[prompt] = response
            kept.append({**record, "prompt": prompt, "response": response})
    report = {
        "source_pairs": len(records),
        "removed": dict(removed),
        "duplicates_with_another_response": other_response,
    }
    return kept, report
