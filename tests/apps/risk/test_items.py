"""Incoming items: good ones are accepted, bad ones rejected with the reason."""

from __future__ import annotations

import pytest

from bizlm.apps.risk.items import TimeBounds, check_items, parse_time


def test_times_parse_from_iso_and_unix_seconds():
    assert parse_time("2024-03-01T00:00:00Z") == 1709251200.0
    assert parse_time("2024-03-01T01:00:00+01:00") == 1709251200.0
    assert parse_time("2024-03-01 00:00:00") == 1709251200.0  # no offset: UTC
    assert parse_time(1709251200) == 1709251200.0
    for bad in ("yesterday", "", None, True, float("nan")):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_bad_items_are_rejected_with_reasons_and_the_rest_accepted():
    raws = [
        {"id": "a", "time": "2024-03-01T00:00:00Z", "source": "wire", "text": "ok"},
        {"id": "b", "time": "2024-03-01T00:00:00Z", "text": "   "},
        {"id": "c", "time": "not a time", "text": "hello"},
        {"id": "a", "time": 1709251200, "text": "same id again"},
        {"time": 1709251200, "text": "no id"},
        "not an object",
        {"id": 7, "time": 1709251200, "text": "numeric id", "metadata": {"lang": "en"}},
        {"id": "d", "time": 1709251200, "text": "x", "colour": "red"},
    ]
    accepted, rejected = check_items(raws, TimeBounds())
    assert [item.id for item in accepted] == ["a", "7"]
    assert accepted[1].metadata == {"lang": "en"}
    reasons = {r.index: r.reason for r in rejected}
    assert reasons[1] == "text is missing or empty"
    assert "time 'not a time' is not an ISO 8601 date-time" in reasons[2]
    assert reasons[3] == "id repeats an earlier item of this batch"
    assert reasons[4] == "id is missing or empty"
    assert reasons[5] == "an item must be a JSON object"
    assert "unknown fields ['colour']" in reasons[7]
    assert [r.id for r in rejected] == ["b", "c", "a", None, None, "d"]
    assert [r.field for r in rejected] == ["text", "time", "id", "id", None, None]
