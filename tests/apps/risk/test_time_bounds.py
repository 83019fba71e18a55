"""Item times outside the configured range are refused on every way in; series stay bounded."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import yaml

from bizlm.apps.risk import alerting
from bizlm.apps.risk.alerting import acknowledge, topic_series
from bizlm.apps.risk.config import RiskError, RiskFolder
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.store import WindowCount
from bizlm.apps.risk.watcher import DropWatcher
from bizlm.cli import run
from tests.apps.risk.conftest import HOUR, T0, keyword_classifier, stream

BAD_TIMES = [100000000000, 1e300, -1e18, float("nan"), 10**400, "9999-12-31T00:00:00Z", 0]


def configure(folder: RiskFolder, **changes) -> RiskFolder:
    """Rewrite risk.yaml with ``changes`` and open the folder again."""
    path = folder.root / "risk.yaml"
    raw = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**raw, **changes}))
    return RiskFolder.open(folder.root)


def test_times_far_in_the_future_or_past_are_rejected_naming_the_field(monitor: Monitor):
    batch = [
        {"id": f"bad-{i}", "time": value, "text": "bank fraud"} for i, value in enumerate(BAD_TIMES)
    ]
    batch.append({"id": "ok", "time": T0, "text": "bank fraud"})
    result = monitor.ingest(batch)
    assert result.accepted == 1
    assert [(r.index, r.field) for r in result.rejected] == [(i, "time") for i in range(7)]
    reasons = [r.reason for r in result.rejected]
    assert reasons[0].startswith("time 100000000000 is more than 24 h ahead of now")
    assert "Unix seconds are expected, not milliseconds" in reasons[0]
    assert reasons[2] == (
        "time -1e+18 is before 2000-01-01T00:00:00Z, the earliest accepted "
        "(lower earliest_time in risk.yaml to accept older items)"
    )
    assert reasons[3] == "time nan is not a finite number"
    assert (
        reasons[4]
        == "time 1000000000000000000000000000000000000... is too large to be Unix seconds"
    )
    assert "raise max_future in risk.yaml" in reasons[5]
    assert monitor.store.latest_time() == T0


def test_the_accepted_range_is_set_in_risk_yaml(folder: RiskFolder):
    wider = configure(folder, earliest_time="1990-01-01", max_future="30d")
    monitor = Monitor(wider, keyword_classifier())
    try:
        soon = time.time() + 10 * 86400
        batch = [
            {"id": "old", "time": "1995-06-01", "text": "x"},
            {"id": "soon", "time": soon, "text": "y"},
        ]
        assert monitor.ingest(batch).accepted == 2
    finally:
        monitor.close()
    with pytest.raises(RiskError, match="earliest_time: time 'someday' is not an ISO 8601"):
        configure(folder, earliest_time="someday")
    with pytest.raises(RiskError, match="earliest_time '1900-01-01' is before 1970"):
        configure(folder, earliest_time="1900-01-01")
    with pytest.raises(RiskError, match="max_future: 'soon' is not a duration"):
        configure(folder, earliest_time="2000-01-01", max_future="soon")
    with pytest.raises(RiskError, match="max_windows"):
        configure(folder, max_future="1d", max_windows=1)


def test_dropped_files_report_and_log_every_line_with_a_bad_time(monitor: Monitor, caplog):
    inbox = monitor.folder.path(monitor.folder.config.inbox)
    lines = [
        json.dumps({"id": "ok", "time": T0, "text": "bank news"}),
        json.dumps({"id": "late", "time": 1e11, "text": "bank news"}),
        '{"id": "nan", "time": NaN, "text": "bank news"}',
    ]
    (inbox / "feed.jsonl").write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="bizlm.apps.risk"):
        [report] = DropWatcher(monitor).scan()
    assert report["accepted"] == 1
    assert [(r["index"], r["field"]) for r in report["rejected"]] == [(3, None), (2, "time")]
    assert report["rejected"][0]["reason"] == "line 3 is not JSON: NaN is not a JSON number"
    assert report["rejected"][1]["reason"].startswith("line 2: time 100000000000.0 is more than")
    assert "feed.jsonl: 2 lines rejected, not stored" in caplog.text


def test_replay_rejects_bad_times_by_line_and_warns(folder: RiskFolder, tiny_bundles, capsys):
    bundle = str(tiny_bundles[0])
    root = folder.root.parent / "replayed"
    init = ["app", "risk", "init", str(root), "--topic-bundle", bundle, "--sentiment-bundle"]
    assert run([*init, bundle]) == 0
    capsys.readouterr()
    items = [{"id": str(i), "time": T0 + 30 * i, "text": "bank news"} for i in range(6)]
    items.append({"id": "ms", "time": 1709251200000, "text": "bank news"})  # milliseconds
    source = folder.root.parent / "history.jsonl"
    source.write_text("\n".join(json.dumps(item) for item in items) + "\n")
    command = ["app", "risk", "replay", str(source), "--speed", "60x", "--dir", str(root)]
    started = time.monotonic()
    assert run([*command, "--json"]) == 0
    assert time.monotonic() - started < 30  # 150 s of history at 60x; the bad time is not paced
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["sent"], summary["accepted"]) == (7, 6)
    [rejected] = summary["rejected"]
    assert (rejected["index"], rejected["field"]) == (7, "time")
    assert "not milliseconds" in rejected["reason"]
    assert "warning: 1 of 7 lines were rejected and not stored: line 7: time" in " ".join(
        captured.err.split()
    )


def test_a_series_covers_at_most_the_last_max_windows_windows():
    counts = [WindowCount("business", 0.0, 1, 0), WindowCount("business", 1000 * HOUR, 2, 1)]
    series = topic_series(counts, 3600, 1001 * HOUR, max_windows=10)
    assert [stat.start for stat in series["business"]] == [(991 + i) * HOUR for i in range(10)]
    assert series["business"][-1].count == 2


def test_the_rules_walk_at_most_max_windows_windows(
    folder: RiskFolder, monkeypatch: pytest.MonkeyPatch
):
    monitor = Monitor(configure(folder, max_windows=48), keyword_classifier())
    lengths: list[int] = []
    detect = alerting.detect_surges
    monkeypatch.setattr(
        alerting,
        "detect_surges",
        lambda stats, settings: lengths.append(len(stats)) or detect(stats, settings),
    )
    try:
        far = [{"id": "first", "time": "2000-01-01T00:00:00Z", "text": "bank news"}]
        monitor.ingest(far + stream(3, 2, {}))
        monitor.step()
    finally:
        monitor.close()
    assert lengths and max(lengths) <= 48


def test_an_alert_id_no_row_can_have_is_not_found(monitor: Monitor):
    assert acknowledge(monitor.store, 10**24) is None
    assert acknowledge(monitor.store, -1) is None


def test_the_risk_database_is_private(folder: RiskFolder):
    monitor = Monitor(folder, keyword_classifier())
    try:
        monitor.ingest([{"id": "1", "time": T0, "text": "bank news"}])
        for path in Path(folder.root).glob("risk.db*"):
            assert path.stat().st_mode & 0o777 == 0o600, path
    finally:
        monitor.close()
