"""The topic deny-list: a message on a denied topic goes to a person, whatever else matches."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bizlm.apps.support.agent import SupportAgent
from bizlm.apps.support.deny import DENIED_TOPIC, denied_topic
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.project import load_project


def test_latin_topics_match_whole_words_and_chinese_ones_anywhere() -> None:
    topics = ["lawsuit", "legal  advice", "医疗建议"]
    assert denied_topic("I will file a LAWSUIT today", topics) == "lawsuit"
    assert denied_topic("Can you give me legal\nadvice?", topics) == "legal  advice"
    assert denied_topic("我想要一些医疗建议。", topics) == "医疗建议"
    assert denied_topic("my lawsuits folder", topics) is None
    assert denied_topic("where is my parcel", topics) is None


def _with_settings(source: Path, target: Path, **settings: object) -> Path:
    shutil.copytree(source, target)
    path = target / "support.yaml"
    current = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    path.write_text(yaml.safe_dump({**current, **settings}), encoding="utf-8")
    return target


def test_a_denied_topic_hands_off_before_any_answer(trained_dir: Path, tmp_path: Path) -> None:
    agent = SupportAgent(trained_dir)
    question = agent.project.faq[0].question
    assert not agent.answer(question).handoff  # answered from the FAQ or a template
    agent.project.settings.deny_topics = [question.split()[0]]
    answer = agent.answer(question)
    assert answer.handoff and answer.handoff_reason == DENIED_TOPIC
    assert answer.text == agent.project.settings.handoff_message


def test_a_blank_topic_is_refused_by_name(trained_dir: Path, tmp_path: Path) -> None:
    root = _with_settings(trained_dir, tmp_path / "desk", deny_topics=["lawsuit", "  "])
    with pytest.raises(SupportProjectError, match="deny_topics") as error:
        load_project(root)
    assert "entry 1 is blank" in str(error.value)
