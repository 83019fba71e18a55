"""(Re)indexing a project's ``docs/`` folder into ``build/knowledge/``.

Each file's SHA-256 is kept with its passages. A run re-reads and re-embeds only new and
changed files, keeps the passages and vectors of unchanged ones, and drops those of files that
are gone; a change of encoder or of passage length re-reads everything. A file that cannot be
read is skipped with its reason; one whose bytes change while it is read is skipped too (its
previous version, if any, stays indexed) and is read again on the next run. Files and folders
whose names start with a dot are ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.support.knowledge.documents import READERS, read_document
from bizlm.apps.support.knowledge.errors import KnowledgeBaseError, UnreadableDocument
from bizlm.apps.support.knowledge.passages import (
    Passage,
    check_split,
    deduplicate,
    split_document,
)
from bizlm.apps.support.knowledge.search import Encoder, KnowledgeBase
from bizlm.apps.support.knowledge.store import IndexedFile, StoredIndex, read_index, write_index
from bizlm.apps.support.project import DOCS_DIR, SupportProject
from bizlm.apps.support.retrieval import SentenceEncoder
from bizlm.log import logger

KNOWLEDGE_DIR = "knowledge"
DEFAULT_MAX_WORDS = 80
DEFAULT_OVERLAP = 15


@dataclass
class IndexReport:
    """What one indexing run did."""

    folder: str
    indexed: dict[str, int] = field(default_factory=dict)  # new or changed file: passages
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}
    passages: int = 0  # every passage stored
    unique_passages: int = 0  # after merging duplicates
    embedded: int = 0  # texts embedded by this run

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping of the report."""
        return asdict(self)


def document_files(docs: Path) -> list[Path]:
    """The files under ``docs`` (searched recursively, dot-names left out), sorted; an error
    naming the folder when it is missing or holds none."""
    what = f"Put the company's documents ({', '.join(sorted(READERS))}) in it"
    if not docs.is_dir():
        raise KnowledgeBaseError(
            f"There is no documents folder {docs}.", hint=f"Create it. {what}."
        )
    files = sorted(
        path
        for path in docs.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(docs).parts)
    )
    if not files:
        raise KnowledgeBaseError(f"The documents folder {docs} is empty.", hint=f"{what}.")
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _previous(folder: Path, encoder: Encoder, max_words: int, overlap: int) -> StoredIndex:
    """The files of the last index when they were made the same way, else none."""
    fresh = StoredIndex(encoder.reference, max_words, overlap)
    try:
        old = read_index(folder)
    except KnowledgeBaseError as exc:
        logger.warning("%s Indexing every document again.", exc.message)
        return fresh
    if old is None or (old.model, old.max_words, old.overlap) != (
        fresh.model,
        fresh.max_words,
        fresh.overlap,
    ):
        return fresh
    return old


def _embed(encoder: Encoder, passages: list[Passage]) -> tuple[np.ndarray, int]:
    """One vector per passage, each distinct text embedded once; and how many were."""
    texts = list(dict.fromkeys(p.search_text for p in passages))
    vectors = encoder.encode(texts)
    row = {text: i for i, text in enumerate(texts)}
    return vectors[[row[p.search_text] for p in passages]], len(texts)


class _ChangedWhileRead(UnreadableDocument):
    """The file's bytes changed between hashing and reading; its previous version stays."""

    def __init__(self) -> None:
        super().__init__("changed while being indexed; run the index again")


def _passages_of(path: Path, name: str, data: bytes, max_words: int, overlap: int) -> list[Passage]:
    """The passages of a file read as ``data``, when the file still holds those bytes."""
    passages = split_document(name, read_document(path, data), max_words, overlap)
    if not path.is_file() or _sha256(path.read_bytes()) != _sha256(data):
        raise _ChangedWhileRead()
    if not passages:
        raise UnreadableDocument("holds no words")
    return passages


def index_documents(
    docs: Path,
    folder: Path,
    encoder: Encoder,
    max_words: int = DEFAULT_MAX_WORDS,
    overlap: int = DEFAULT_OVERLAP,
) -> IndexReport:
    """Bring the index in ``folder`` up to date with the files under ``docs``."""
    check_split(max_words, overlap)
    files = document_files(docs)
    old = _previous(folder, encoder, max_words, overlap)
    index = StoredIndex(encoder.reference, max_words, overlap)
    report = IndexReport(str(folder))
    for path in files:
        name = path.relative_to(docs).as_posix()
        previous = old.files.get(name)
        try:
            data = path.read_bytes()
            digest = _sha256(data)
            if previous is not None and previous.sha256 == digest:
                index.files[name] = previous
                report.unchanged.append(name)
                continue
            passages = _passages_of(path, name, data, max_words, overlap)
        except (UnreadableDocument, OSError) as exc:
            if isinstance(exc, _ChangedWhileRead) and previous is not None:
                index.files[name] = previous
            reason = (
                exc.reason
                if isinstance(exc, UnreadableDocument)
                else (f"could not be read ({exc.strerror})")
            )
            report.skipped.append({"file": name, "reason": reason})
            logger.warning("Skipped %s: %s.", path, reason)
            continue
        vectors, embedded = _embed(encoder, passages)
        index.files[name] = IndexedFile(digest, passages, vectors)
        report.indexed[name] = len(passages)
        report.embedded += embedded
    if not index.files:
        reasons = "; ".join(f"{s['file']}: {s['reason']}" for s in report.skipped)
        raise KnowledgeBaseError(
            f"None of the {len(files)} files in {docs} could be indexed ({reasons}).",
            hint="Add Markdown, HTML, text or PDF documents that hold text.",
        )
    write_index(folder, index)
    names = {path.relative_to(docs).as_posix() for path in files}
    report.removed = sorted(set(old.files) - names)
    report.passages = len(index.passages())
    report.unique_passages = len(deduplicate(index.passages())[0])
    return report


def knowledge_folder(project: SupportProject) -> Path:
    """Where a project's knowledge index lives."""
    return project.build_dir / KNOWLEDGE_DIR


def index_project(
    project: SupportProject,
    max_words: int = DEFAULT_MAX_WORDS,
    overlap: int = DEFAULT_OVERLAP,
    encoder: Encoder | None = None,
) -> IndexReport:
    """Index a project's ``docs/`` with its encoder (the intent recipe's model by default)."""
    check_split(max_words, overlap)
    document_files(project.root / DOCS_DIR)  # refuse an empty folder before loading a model
    encoder = encoder or SentenceEncoder.for_recipe(project.recipe)
    return index_documents(
        project.root / DOCS_DIR, knowledge_folder(project), encoder, max_words, overlap
    )


def load_knowledge_base(project: SupportProject, encoder: Encoder | None = None) -> KnowledgeBase:
    """A project's indexed knowledge base, searched with the FAQ's fusion settings."""
    document_files(project.root / DOCS_DIR)
    folder = knowledge_folder(project)
    stored = read_index(folder)
    hint = f"Run `bizlm app support index {project.root}`."
    if stored is None:
        raise KnowledgeBaseError(f"{folder} holds no knowledge index yet.", hint=hint)
    encoder = encoder or SentenceEncoder.for_recipe(project.recipe)
    if stored.model != encoder.reference:
        raise KnowledgeBaseError(
            f"The knowledge index in {folder} was made with the model {stored.model}, not "
            f"{encoder.reference}.",
            hint=hint,
        )
    faq = project.settings.faq
    return KnowledgeBase(
        stored.passages(),
        stored.vectors(),
        encoder,
        faq.rrf_k,
        faq.bm25_weight if faq.bm25_weight is not None else 1.0,
    )
