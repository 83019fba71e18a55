"""Knowledge base index: hybrid search, incremental and atomic re-indexing, skipped files,
and the `bizlm app support index` command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bizlm.apps.support.knowledge import indexer, store
from bizlm.apps.support.knowledge.errors import KnowledgeBaseError
from bizlm.apps.support.knowledge.indexer import index_documents, load_knowledge_base
from bizlm.apps.support.knowledge.search import KnowledgeBase
from bizlm.apps.support.knowledge.store import read_index
from bizlm.apps.support.project import load_project
from bizlm.apps.support.retrieval import SentenceEncoder
from bizlm.cli import run
from tests.apps.support.test_knowledge_documents import encrypted, make_pdf

DOCS = {
    "billing.md": "# Billing\n\nInvoices are sent monthly.\n\n## Refunds\n\n"
    "Refunds reach your card within five working days.\n",
    "help/account.html": "<h1>Account</h1><p>Reset your password from the login page.</p>",
    "hours.txt": "The shop is open from nine to five on weekdays.",
    "warranty.pdf": make_pdf(["The warranty covers the serial number printed underneath"]),
}


class CountingEncoder:
    """The tiny encoder, counting the texts it embeds."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.reference = encoder.reference
        self.embedded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return self.encoder.encode(texts)


@pytest.fixture(scope="module")
def tiny_encoder(tiny_model_dir: Path) -> SentenceEncoder:
    return SentenceEncoder(str(tiny_model_dir), max_length=32)


@pytest.fixture()
def encoder(tiny_encoder: SentenceEncoder) -> CountingEncoder:
    return CountingEncoder(tiny_encoder)


def write_docs(docs: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return docs


def opened(folder: Path, encoder: CountingEncoder) -> KnowledgeBase:
    stored = read_index(folder)
    assert stored is not None
    return KnowledgeBase(stored.passages(), stored.vectors(), encoder)


def test_search_ranks_the_passage_with_the_rare_words_first(
    tmp_path: Path, encoder: CountingEncoder
) -> None:
    docs = write_docs(tmp_path / "docs", DOCS)
    report = index_documents(docs, tmp_path / "knowledge", encoder)
    assert report.indexed == {
        "billing.md": 2,
        "help/account.html": 1,
        "hours.txt": 1,
        "warranty.pdf": 1,
    }
    assert report.skipped == [] and report.embedded == encoder.embedded == 5
    base = opened(tmp_path / "knowledge", encoder)
    top = base.search("serial number", k=3, mode="bm25")[0]
    assert (top.passage.file, top.passage.page) == ("warranty.pdf", 1) and top.bm25 > 0
    top = base.search("card refunds", k=2, mode="bm25")[0]
    assert (top.passage.file, top.passage.heading) == ("billing.md", "Billing > Refunds")
    hybrid = base.search("password login", k=5)
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    position = {p.id: i for i, p in enumerate(base.passages)}  # ties keep passage order
    by_similarity = sorted(hybrid, key=lambda h: (-h.similarity, position[h.passage.id]))
    by_bm25 = sorted(hybrid, key=lambda h: (-h.bm25, position[h.passage.id]))
    for hit in hybrid:  # the FAQ's rule: 1 / (60 + rank) for each ranker, BM25 weighing 1
        expected = 1 / (61 + by_similarity.index(hit)) + 1 / (61 + by_bm25.index(hit))
        assert hit.score == pytest.approx(expected)


def test_duplicate_passages_are_searched_once(tmp_path: Path, encoder: CountingEncoder) -> None:
    same = "Our phone line answers every morning."
    docs = write_docs(tmp_path / "docs", {"a.txt": same, "b.txt": same, "c.txt": "Other words."})
    report = index_documents(docs, tmp_path / "knowledge", encoder)
    assert (report.passages, report.unique_passages) == (3, 2)
    hits = opened(tmp_path / "knowledge", encoder).search("phone line", k=5, mode="bm25")
    assert len(hits) == 2 and hits[0].passage.file == "a.txt"
    assert [loc.file for loc in hits[0].passage.also_at] == ["b.txt"]


def test_reindexing_embeds_only_changed_files_and_drops_deleted_ones(
    tmp_path: Path, encoder: CountingEncoder
) -> None:
    docs = write_docs(tmp_path / "docs", DOCS)
    folder = tmp_path / "knowledge"
    index_documents(docs, folder, encoder)
    encoder.embedded = 0
    again = index_documents(docs, folder, encoder)
    assert again.indexed == {} and len(again.unchanged) == 4 and encoder.embedded == 0
    (docs / "hours.txt").write_text("Opening hours: eight to eight, holidays closed.")
    (docs / "warranty.pdf").unlink()
    report = index_documents(docs, folder, encoder)
    assert report.indexed == {"hours.txt": 1} and encoder.embedded == report.embedded == 1
    assert report.removed == ["warranty.pdf"]
    assert sorted(report.unchanged) == ["billing.md", "help/account.html"]
    stored = read_index(folder)
    assert stored is not None and sorted(stored.files) == sorted([*report.unchanged, "hours.txt"])
    texts = [p.text for p in stored.passages()]
    assert "Opening hours: eight to eight, holidays closed." in texts
    assert not any("serial" in text or "nine to five" in text for text in texts)


def test_unreadable_and_unsupported_files_are_skipped_with_reasons(
    tmp_path: Path, encoder: CountingEncoder
) -> None:
    files = {
        "hours.txt": DOCS["hours.txt"],
        "locked.pdf": encrypted(make_pdf(["Secret plans"])),
        "broken.pdf": b"%PDF-1.4 garbage",
        "contract.docx": b"PK\x03\x04",
        ".hidden.md": "# Draft",
    }
    report = index_documents(write_docs(tmp_path / "docs", files), tmp_path / "kb", encoder)
    assert report.indexed == {"hours.txt": 1}
    reasons = {s["file"]: s["reason"] for s in report.skipped}
    assert sorted(reasons) == ["broken.pdf", "contract.docx", "locked.pdf"]
    assert "needs a password" in reasons["locked.pdf"]
    assert reasons["broken.pdf"].startswith("could not be parsed")
    assert reasons["contract.docx"] == "unsupported type"


def test_a_folder_of_only_unreadable_files_is_refused(
    tmp_path: Path, encoder: CountingEncoder
) -> None:
    docs = write_docs(tmp_path / "docs", {"contract.docx": b"PK"})
    with pytest.raises(
        KnowledgeBaseError, match=r"None of the 1 files.*contract\.docx: unsupported"
    ):
        index_documents(docs, tmp_path / "kb", encoder)
    assert not (tmp_path / "kb").exists()


def test_a_file_changing_while_indexed_is_left_for_the_next_run(
    tmp_path: Path, encoder: CountingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"hours.txt": "Version one text.", "a.md": "# A\n\nStays."}
    docs = write_docs(tmp_path / "docs", files)
    folder = tmp_path / "knowledge"
    index_documents(docs, folder, encoder)
    (docs / "hours.txt").write_text("Version two text.")
    original = indexer.read_document

    def rewritten_meanwhile(path: Path, data: bytes) -> object:
        if path.name == "hours.txt":
            path.write_text("Version three text.")
        return original(path, data)

    monkeypatch.setattr(indexer, "read_document", rewritten_meanwhile)
    report = index_documents(docs, folder, encoder)
    assert report.skipped == [
        {"file": "hours.txt", "reason": "changed while being indexed; run the index again"}
    ]
    stored = read_index(folder)
    assert stored is not None
    assert [p.text for p in stored.files["hours.txt"].passages] == ["Version one text."]
    monkeypatch.undo()
    report = index_documents(docs, folder, encoder)
    assert report.indexed == {"hours.txt": 1}
    stored = read_index(folder)
    assert stored is not None
    assert [p.text for p in stored.files["hours.txt"].passages] == ["Version three text."]


def test_a_failed_write_leaves_the_previous_index(
    tmp_path: Path, encoder: CountingEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_docs(tmp_path / "docs", {"hours.txt": "Version one text."})
    folder = tmp_path / "knowledge"
    index_documents(docs, folder, encoder)
    (docs / "hours.txt").write_text("Version two text.")

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "atomic_write_bytes", disk_full)
    with pytest.raises(OSError, match="No space left"):
        index_documents(docs, folder, encoder)
    stored = read_index(folder)
    assert stored is not None and stored.passages()[0].text == "Version one text."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "knowledge"]


def test_missing_or_empty_docs_folder_is_refused(tmp_path: Path, encoder: CountingEncoder) -> None:
    with pytest.raises(KnowledgeBaseError, match=r"There is no documents folder .*docs.*Create it"):
        index_documents(tmp_path / "docs", tmp_path / "kb", encoder)
    write_docs(tmp_path / "docs", {".DS_Store": b"\0"})
    with pytest.raises(KnowledgeBaseError, match=r"docs is empty. Put the company's documents"):
        index_documents(tmp_path / "docs", tmp_path / "kb", encoder)


def test_bad_searches_are_refused(tmp_path: Path, encoder: CountingEncoder) -> None:
    index_documents(write_docs(tmp_path / "docs", DOCS), tmp_path / "kb", encoder)
    base = opened(tmp_path / "kb", encoder)
    with pytest.raises(KnowledgeBaseError, match="The query is empty"):
        base.search("  ")
    with pytest.raises(KnowledgeBaseError, match="at least 1 passage"):
        base.search("refund", k=0)


def test_a_damaged_index_is_reported_and_rebuilt(tmp_path: Path, encoder: CountingEncoder) -> None:
    docs = write_docs(tmp_path / "docs", {"hours.txt": "Open daily."})
    folder = tmp_path / "kb"
    index_documents(docs, folder, encoder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(KnowledgeBaseError, match=r"cannot be read .*Rebuild it with"):
        read_index(folder)
    assert index_documents(docs, folder, encoder).indexed == {"hours.txt": 1}


def test_cli_indexes_the_project_docs(
    project_dir: Path, tiny_encoder: SentenceEncoder, capsys: pytest.CaptureFixture[str]
) -> None:
    write_docs(project_dir / "docs", {k: v for k, v in DOCS.items() if k != "warranty.pdf"})
    write_docs(project_dir / "docs", {"notes.rtf": "{\\rtf1 x}"})
    assert run(["app", "support", "index", str(project_dir), "--max-words", "40", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["indexed"] == {"billing.md": 2, "help/account.html": 1, "hours.txt": 1}
    assert report["skipped"] == [{"file": "notes.rtf", "reason": "unsupported type"}]
    assert Path(report["folder"]) == project_dir / "build" / "knowledge"
    assert run(["app", "support", "index", str(project_dir), "--max-words", "40"]) == 0
    printed = capsys.readouterr().out
    assert "files indexed: 0" in printed and "files unchanged: 3" in printed
    assert "notes.rtf: unsupported type" in printed
    project = load_project(project_dir)
    hits = load_knowledge_base(project, tiny_encoder).search("shop weekdays", k=1, mode="bm25")
    assert hits[0].passage.file == "hours.txt"


def test_cli_refuses_an_empty_docs_folder_and_bad_lengths(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "docs").mkdir()
    assert run(["app", "support", "index", str(project_dir)]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "docs is empty" in message and "Traceback" not in message
    write_docs(project_dir / "docs", {"hours.txt": "Open daily."})
    assert run(["app", "support", "index", str(project_dir), "--overlap", "90"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "The overlap is 90 words" in message and "Traceback" not in message


def test_loading_a_knowledge_base_before_indexing_is_refused(project_dir: Path) -> None:
    project = load_project(project_dir)
    with pytest.raises(KnowledgeBaseError, match="no documents folder"):
        load_knowledge_base(project)
    write_docs(project_dir / "docs", {"hours.txt": "Open daily."})
    with pytest.raises(KnowledgeBaseError, match=r"no knowledge index yet.*support index"):
        load_knowledge_base(project)
