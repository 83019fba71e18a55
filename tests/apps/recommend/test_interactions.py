"""Reading interactions and items: bad rows are counted and reported, bad files are errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bizlm.apps.recommend.config import RecommendData
from bizlm.apps.recommend.interactions import describe_report, read_interactions
from bizlm.errors import DataError
from tests.conftest import write_csv

ITEMS = [
    {"item": "a", "title": "good great", "genre": "x"},
    {"item": "b", "title": "bad awful", "genre": "y"},
    {"item": "c", "title": "", "genre": ""},
]


def _config(tmp_path: Path, events: list[dict[str, str]], **options: object) -> RecommendData:
    return RecommendData(
        interactions=write_csv(tmp_path / "events.csv", events),
        items=write_csv(tmp_path / "items.csv", ITEMS),
        **options,
    )


def test_unknown_items_and_duplicates_are_counted(tmp_path: Path, caplog) -> None:
    events = [
        {"user": "u1", "item": "a", "timestamp": "10"},
        {"user": "u1", "item": "zz", "timestamp": "11"},
        {"user": "u1", "item": "zz", "timestamp": "12"},
        {"user": "u1", "item": "b", "timestamp": "13"},
        {"user": "u1", "item": "b", "timestamp": "15"},
        {"user": "u2", "item": "", "timestamp": "15"},
    ]
    with caplog.at_level(logging.WARNING):
        data = read_interactions(_config(tmp_path, events))
    report = data.report
    assert report["unknown_items"] == {"rows": 2, "examples": ["zz"]}
    assert report["duplicate_events"] == 1
    assert report["missing_value"] == 1
    assert report["items"]["without_text"] == 1
    assert report["events"] == 2
    assert data.times.tolist() == [10.0, 15.0]  # the repeated pair keeps its latest time
    assert "2 interactions name items missing from the items file (e.g. zz)" in caplog.text
    assert any("merged" in message for message in describe_report(report))
    assert data.item_texts[2] == "item c"


def test_iso_times_and_min_event_value(tmp_path: Path) -> None:
    events = [
        {"user": "u1", "item": "a", "timestamp": "2024-05-02", "rating": "5"},
        {"user": "u1", "item": "b", "timestamp": "2024-05-01T08:00:00", "rating": "4"},
        {"user": "u1", "item": "c", "timestamp": "2024-05-03", "rating": "1"},
    ]
    config = _config(tmp_path, events, event_column="rating", min_event_value=3)
    data = read_interactions(config)
    assert [data.item_ids[i] for i in data.items] == ["b", "a"]
    assert data.report["below_min_event_value"] == 1


def test_bad_time_names_file_and_line(tmp_path: Path) -> None:
    events = [
        {"user": "u1", "item": "a", "timestamp": "10"},
        {"user": "u1", "item": "b", "timestamp": "yesterday"},
    ]
    with pytest.raises(DataError, match=r"events.csv line 3: 'timestamp' is 'yesterday'"):
        read_interactions(_config(tmp_path, events))


def test_missing_column_is_named(tmp_path: Path) -> None:
    events = [{"customer": "u1", "item": "a", "timestamp": "10"}]
    with pytest.raises(DataError, match="user"):
        read_interactions(_config(tmp_path, events))


def test_only_unknown_items_is_an_error(tmp_path: Path) -> None:
    events = [{"user": "u1", "item": "q", "timestamp": "10"}]
    with pytest.raises(DataError, match="1 name unknown items"):
        read_interactions(_config(tmp_path, events))
