"""Alert rules and the folder's configuration: bad values get a clear error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bizlm.apps.risk.config import RiskError, RiskFolder, parse_duration, parse_window
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.rules import load_rules
from tests.apps.risk.conftest import keyword_classifier

TOPICS = ["business", "sports", "tech"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_durations_and_windows():
    assert parse_duration("90s", "x") == 90
    assert parse_duration("5m", "x") == 300
    assert parse_window("1d", "x") == 86400
    with pytest.raises(RiskError, match="outside 5m … 1d"):
        parse_window("1m", "window")
    with pytest.raises(RiskError, match="'soon' is not a duration"):
        parse_duration("soon", "cooldown")


def test_a_rule_for_an_unknown_topic_is_refused_with_the_known_ones(tmp_path: Path):
    path = write(tmp_path / "rules.yaml", "rules:\n  - name: r\n    topic: crypto\n")
    with pytest.raises(RiskError) as caught:
        load_rules(path, TOPICS)
    message = str(caught.value)
    assert "rule 'r' names unknown topic 'crypto'" in message
    assert "business, sports, tech" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "rules:\n  - name: r\n    window: 2m\n",
            "rule 1: bad value for 'window' (got '2m'): window '2m' is outside 5m",
        ),
        ("rules:\n  - name: r\n    detector: magic\n", "'magic' is not a detector"),
        ("rules:\n  - name: r\n    signal: volume\n", "'volume' is not a signal"),
        ("rules:\n  - name: r\n    cooldown: later\n", "'later' is not a duration"),
        ("rules:\n  - name: r\n    threshold: -1\n", "rule 1: bad value for 'threshold' (got -1)"),
        ("rules:\n  - name: r\n    colour: red\n", "rule 1: unknown key 'colour'"),
        ("rules:\n  - name: r\n  - name: r\n", "rule names must be unique"),
        ("rules: []\n", "expected a non-empty list under 'rules'"),
        ("rules: [\n", "is not valid YAML"),
    ],
)
def test_bad_rules_are_refused_with_what_and_where(tmp_path: Path, body: str, expected: str):
    path = write(tmp_path / "rules.yaml", body)
    with pytest.raises(RiskError, match=re.escape(expected)):
        load_rules(path, TOPICS)


def test_the_monitor_refuses_rules_and_labels_its_models_do_not_know(folder: RiskFolder):
    write(folder.rules, "rules:\n  - name: r\n    topic: crypto\n")
    with pytest.raises(RiskError, match="unknown topic 'crypto'"):
        Monitor(folder, keyword_classifier())
    folder.config.negative_label = "bearish"
    with pytest.raises(RiskError, match="negative_label 'bearish' is not a label"):
        Monitor(folder, keyword_classifier())


def test_a_folder_without_config_or_with_a_bad_one(tmp_path: Path):
    with pytest.raises(RiskError, match="is not a risk monitor folder"):
        RiskFolder.open(tmp_path)
    write(tmp_path / "risk.yaml", "window: 2m\n")
    with pytest.raises(RiskError, match="outside 5m … 1d"):
        RiskFolder.open(tmp_path)
    write(tmp_path / "risk.yaml", "webhooks:\n  - url: ftp://x\n")
    with pytest.raises(RiskError, match=r"webhooks\.0\.url"):
        RiskFolder.open(tmp_path)
