"""Reply-model training rows made as the desk prompts, and `train-replies` on the tiny random
Llama: the rows it writes, the bundle it trains, and the inputs it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bizlm.apps.support.grounded import reply_training
from bizlm.apps.support.grounded.loader import load_generator
from bizlm.apps.support.grounded.prompt import NO_ANSWER, build_messages
from bizlm.apps.support.grounded.questions import KnowledgeQuestion
from bizlm.apps.support.grounded.reply_rows import (
    NO_SOURCE,
    SOURCE_NOT_RETRIEVED,
    build_reply_rows,
    cite,
)
from bizlm.apps.support.knowledge.indexer import index_project
from bizlm.apps.support.project import load_project
from bizlm.cli import run
from tests.apps.support.test_grounded_answerer import StubKnowledgeBase
from tests.apps.support.test_grounded_checks import HOURS, REFUNDS
from tests.prompting.conftest import tiny_generator_dir  # noqa: F401  (a fixture)

REFUND_ANSWER = "Refunds reach your card within five working days."
HOURS_ANSWER = "The shop is open from nine to five on weekdays."
QUESTION_ROWS = [
    {"question": "When is my money back?", "answer": REFUND_ANSWER, "answerable": True,
     "split": "train", "source": "shop.md"},
    {"question": "When can I come in?", "answer": HOURS_ANSWER, "answerable": True,
     "split": "train", "source": "shop.md"},
    {"question": "Do you sell gift cards?", "answerable": False, "split": "train"},
    {"question": "What are the hours?", "answer": HOURS_ANSWER, "answerable": True,
     "split": "validation", "source": "shop.md"},
    {"question": "Is there parking?", "answerable": False, "split": "test"},
]  # fmt: skip


def question(text: str, answer: str = "", source: str | None = None) -> KnowledgeQuestion:
    return KnowledgeQuestion(text, answer, bool(answer), "train", source)


def test_each_sentence_with_content_cites_the_passage() -> None:
    assert cite("Yes. Open at nine! Closed on Sunday", 2) == (
        "Yes. Open at nine [2]! Closed on Sunday [2]"
    )


def test_rows_are_the_desks_prompts_with_the_answer_or_the_refusal() -> None:
    knowledge = StubKnowledgeBase([REFUNDS, HOURS], [0.8, 0.6])
    asked = [
        question("When are you open?", HOURS_ANSWER, HOURS.file),
        question("Gift cards?"),
        question("Where are you?", "On Main Street.", "map.md"),
        question("Who are you?", "A shop."),
    ]
    built = build_reply_rows(asked, knowledge, top_k=2)
    opening, refusal = built.rows
    prompt = build_messages("When are you open?", [REFUNDS, HOURS])
    assert opening["messages"] == [
        *prompt,
        {"role": "assistant", "content": "The shop is open from nine to five on weekdays [2]."},
    ]
    assert refusal["messages"][:-1] == build_messages("Gift cards?", [REFUNDS, HOURS])
    assert refusal["messages"][-1] == {"role": "assistant", "content": NO_ANSWER}
    assert built.skipped == {SOURCE_NOT_RETRIEVED: ["Where are you?"], NO_SOURCE: ["Who are you?"]}
    assert built.summary() == {
        "rows": 2,
        "answers": 1,
        "refusals": 1,
        "skipped": {SOURCE_NOT_RETRIEVED: 1, NO_SOURCE: 1},
    }
    # top_k is the answerer's: a source ranked below it is not retrieved
    assert build_reply_rows(asked[:1], knowledge, top_k=1).rows == []


def write_questions(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture()
def desk(project_dir: Path) -> Path:
    """The untrained project with one indexed document that answers the questions."""
    (project_dir / "docs").mkdir()
    text = f"# Shop\n\n{REFUND_ANSWER} {HOURS_ANSWER}\n"
    (project_dir / "docs" / "shop.md").write_text(text, encoding="utf-8")
    index_project(load_project(project_dir))
    write_questions(project_dir / "knowledge_questions.jsonl", QUESTION_ROWS)
    return project_dir


def test_the_command_writes_the_rows_and_trains_a_generate_bundle(
    desk: Path,
    tiny_generator_dir: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = desk / "replies" / "first"
    arguments = ["--model", str(tiny_generator_dir), "--epochs", "1", "--output", str(output)]
    assert run(["app", "support", "train-replies", str(desk), *arguments, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"] == {"rows": 3, "answers": 2, "refusals": 1, "skipped": {}}
    assert summary["validation"]["rows"] == 1
    assert "rouge_l" in summary["metrics"] and "samples" not in summary["metrics"]
    assert summary["set_in_support_yaml"] == "knowledge: {generate_bundle: replies/first/bundle}"
    rows = [json.loads(line) for line in (output / "reply-train.jsonl").read_text().splitlines()]
    assert [row["messages"][-1]["content"] for row in rows] == [
        "Refunds reach your card within five working days [1].",
        "The shop is open from nine to five on weekdays [1].",
        NO_ANSWER,
    ]
    recipe = yaml.safe_load((output / "recipe.yaml").read_text(encoding="utf-8"))
    assert recipe["data"]["validation"] == str(output / "reply-validation.jsonl")
    assert recipe["method"] == {"name": "full"} and recipe["train"]["epochs"] == 1
    generator = load_generator(Path(summary["bundle"]), desk / "support.yaml")
    assert isinstance("".join(generator.stream(rows[0]["messages"][:-1], max_new_tokens=3)), str)
    # a second run never replaces the first
    assert run(["app", "support", "train-replies", str(desk), *arguments]) == 2
    assert "already exists" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize(
    ("arguments", "rows", "index", "message"),
    [
        (["--questions", "missing.jsonl"], None, True, "There is no questions file"),
        (["--learning-rate", "0"], QUESTION_ROWS, True, "The learning rate is 0.0"),
        ([], QUESTION_ROWS[3:], True, 'has no question with "split": "train"'),
        ([], QUESTION_ROWS, False, "holds no knowledge index"),
        # the index holds only other.md: no answerable train question finds its source
        ([], QUESTION_ROWS, True, "None of the answerable train questions"),
        ([], QUESTION_ROWS[2:], True, "None of the answerable train questions"),
    ],
)
def test_the_command_refuses_bad_input_before_training(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    rows: list[dict[str, Any]] | None,
    index: bool,
    message: str,
) -> None:
    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a model was trained")

    monkeypatch.setattr(reply_training, "train", never)
    monkeypatch.chdir(project_dir)
    (project_dir / "docs").mkdir()
    (project_dir / "docs" / "other.md").write_text("# Other\n\nWe fix bikes.\n", encoding="utf-8")
    if index:
        index_project(load_project(project_dir))
    if rows is not None:
        write_questions(project_dir / "knowledge_questions.jsonl", rows)
    assert run(["app", "support", "train-replies", str(project_dir), *arguments]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert message in error and "Traceback" not in error
    assert not (project_dir / "replies").exists()
