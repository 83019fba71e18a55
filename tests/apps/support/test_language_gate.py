"""A message in a script the project's model cannot read goes to a person, not to a guess."""

from __future__ import annotations

from pathlib import Path

from bizlm.apps.support.agent import SupportAgent
from bizlm.apps.support.language import UNREADABLE_LANGUAGE, LanguageGate


def test_the_english_default_model_cannot_read_chinese_or_cyrillic() -> None:
    gate = LanguageGate("default")
    assert gate.problem("where is my bag") is None
    chinese = gate.problem("我的行李在哪里？")
    assert chinese is not None and "model: multilingual" in chinese
    assert gate.problem("Где мой багаж?") is not None


def test_the_multilingual_model_reads_them() -> None:
    gate = LanguageGate("multilingual")
    assert gate.problem("我的行李在哪里？") is None and gate.problem("Где мой багаж?") is None


def test_an_unreadable_message_hands_off_with_its_reason(trained_dir: Path) -> None:
    agent = SupportAgent(trained_dir)
    question = agent.project.faq[0].question
    assert not agent.answer(question).handoff
    answer = agent.answer("我的行李在哪里？请告诉我登机口。")
    assert answer.handoff and answer.handoff_reason == UNREADABLE_LANGUAGE
    assert answer.text == agent.project.settings.handoff_message
