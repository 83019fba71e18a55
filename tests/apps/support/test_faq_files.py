"""FAQ files: entries with their tags, duplicate questions kept with a warning, and each bad
line named."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.faq_files import read_faq
from tests.apps.support.conftest import FAQ


def test_duplicate_faq_questions_warn_and_keep_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "faq.jsonl"
    twin = {**FAQ[0], "id": "bag-2", "question": "Bag  GATE ticket", "answer": "Gate 5."}
    path.write_text("\n".join(json.dumps(e) for e in [*FAQ, twin]))
    with caplog.at_level(logging.WARNING, logger="bizlm"):
        entries, warnings = read_faq(path)
    assert [e.id for e in entries] == ["bag", "crew", "seat", "bag-2"]
    assert len(warnings) == 1 and "['bag', 'bag-2']" in warnings[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q", "answer": "a"}\n{"question": "", "answer": "a"}\n', "line 2"),
        ('{"question": "q", "answer": "a"}\nnot json\n', "line 2: not valid JSON"),
        ('{"question": "q", "answer": "a"}\n["q", "a"]\n', "line 2: an FAQ entry needs"),
        (
            '{"question": "q", "answer": "a", "tags": {"bags": 1}}\n',
            "line 1: 'tags' must be a list",
        ),
    ],
)
def test_faq_line_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text(content)
    with pytest.raises(SupportProjectError, match=message):
        read_faq(path)


def test_faq_tags_as_list_or_comma_separated_string(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text(
        '{"question": "q1", "answer": "a", "tags": "bags, fees"}\n'
        '{"question": "q2", "answer": "a", "tags": ["bags"]}\n'
        '{"question": "q3", "answer": "a"}\n'
    )
    entries, _ = read_faq(path)
    assert [entry.tags for entry in entries] == [("bags", "fees"), ("bags",), ()]
