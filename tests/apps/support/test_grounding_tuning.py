"""Tuning the support threshold on validation questions, with a stand-in generator: the
labels, the threshold, the `tune-grounding` command and the inputs it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded import project_tuning
from bizlm.apps.support.grounded.answerer import EMPTY_REPLY, GroundedAnswerer
from bizlm.apps.support.grounded.questions import KnowledgeQuestion, read_knowledge_questions
from bizlm.apps.support.grounded.settings import KnowledgeSettings
from bizlm.apps.support.grounded.tuning import (
    is_truly_supported,
    reference_recall,
    score_replies,
    tune_grounding,
)
from bizlm.apps.support.knowledge.indexer import index_project
from bizlm.apps.support.project import load_project
from bizlm.cli import run
from tests.apps.support.test_grounded_answerer import StubKnowledgeBase
from tests.apps.support.test_grounded_answerer import answerer as stub_answerer
from tests.apps.support.test_grounded_checks import HOURS, REFUNDS

REFUND_ANSWER = "Refunds reach your card within five working days."
HOURS_ANSWER = "The shop is open from nine to five on weekdays."
# question: (reply the stand-in writes, reference answer or None when unanswerable, split)
CASES: dict[str, tuple[str, str | None, str]] = {
    "When do refunds arrive?": (f"{REFUND_ANSWER[:-1]} [1].", REFUND_ANSWER, "validation"),
    "When are you open?": (f"{HOURS_ANSWER[:-1]} [2].", HOURS_ANSWER, "validation"),
    "Can I pay with bitcoin?": ("Refunds reach your card in bitcoin [1].", None, "validation"),
    "Do you sell gift cards?": ("Purple elephants sell gift cards.", None, "validation"),
    "Is there parking?": ("", "Park behind the shop.", "validation"),
    "Are you open on Sunday?": (HOURS_ANSWER, HOURS_ANSWER, "test"),
}


CASES_WITHOUT_A_RIGHT_REPLY = ("Can I pay with bitcoin?", "Is there parking?")


class ScriptedGenerator:
    """Writes the reply :data:`CASES` holds for the question of each conversation."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def stream(self, messages: list[dict[str, str]], **overrides: Any) -> Iterator[str]:
        question = messages[-1]["content"].rsplit("Question: ", 1)[1]
        self.asked.append(question)
        yield CASES[question][0]


def questions() -> list[KnowledgeQuestion]:
    return [
        KnowledgeQuestion(question, answer or "", answer is not None, split)
        for question, (_, answer, split) in CASES.items()
    ]


def answerer() -> GroundedAnswerer:
    knowledge = StubKnowledgeBase([REFUNDS, HOURS], [0.8, 0.6])
    return GroundedAnswerer(knowledge, ScriptedGenerator(), KnowledgeSettings())


def test_a_reply_is_truly_supported_when_it_holds_half_of_what_the_answer_adds() -> None:
    answerable = KnowledgeQuestion("When do refunds come?", "Refunds take five working days.", True)
    # the answer adds take, five, working, days to the question's words
    assert reference_recall("Refunds take five days [1].", answerable) == 0.75
    assert is_truly_supported(answerable, "Refunds take five days [1].")
    assert not is_truly_supported(answerable, "Refunds come when refunds take time.")  # 1 of 4
    echo = KnowledgeQuestion("Is it open?", "It is open.", True)  # adds nothing: all its words
    assert reference_recall("Yes, open.", echo) == 1.0
    unanswerable = KnowledgeQuestion("Bitcoin?", "Refunds take five working days.", False)
    assert not is_truly_supported(unanswerable, unanswerable.answer)


def test_tuning_keeps_the_threshold_that_reaches_the_target_on_validation_only() -> None:
    grounded = answerer()
    tuning = tune_grounding(grounded, questions(), target_precision=0.9)
    summary = tuning.to_json()
    # scores: two supported replies at 1.0, the bitcoin answer at 0.75, the elephants at 0
    assert tuning.support_threshold == 1.0 and summary["reached_target"]
    assert summary["validation_precision"] == 1.0 and summary["validation_coverage"] == 0.5
    assert summary["scored_replies"] == 4 and summary["truly_supported"] == 2
    assert summary["handed_off_before_check"] == {EMPTY_REPLY: 1}
    assert summary["questions"] == 5 and "Are you open on Sunday?" not in grounded.generator.asked
    bitcoin = next(r for r in summary["replies"] if r["question"] == "Can I pay with bitcoin?")
    assert bitcoin["score"] == 0.75 and not bitcoin["truly_supported"]
    looser = tune_grounding(answerer(), questions(), target_precision=0.6)
    assert looser.support_threshold == 0.75 and looser.tuned.coverage == 0.75


def test_tuning_refuses_what_it_cannot_tune_on() -> None:
    with pytest.raises(SupportProjectError, match=r"target precision is 1\.5"):
        tune_grounding(answerer(), questions(), target_precision=1.5)
    only_test = [q for q in questions() if q.split == "test"]
    with pytest.raises(SupportProjectError, match="None of the 0 validation questions is"):
        tune_grounding(answerer(), only_test)
    silent = [KnowledgeQuestion("Is there parking?", "Park behind the shop.", True)]
    with pytest.raises(SupportProjectError, match=r"got a reply to score.*'empty_reply': 1"):
        tune_grounding(answerer(), silent)


def write_questions(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def question_rows() -> list[dict[str, Any]]:
    return [
        {"question": q.question, "answer": q.answer, "answerable": q.answerable, "split": q.split}
        for q in questions()
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("not json", "line 1: not valid JSON"),
        (["a list"], "line 1: a row must be a JSON object"),
        ({"answer": "x", "answerable": True}, "line 1: 'question' must be a non-empty text"),
        ({"question": "Why?", "answerable": "yes"}, "line 1: 'answerable' must be true or false"),
        ({"question": "Why?", "answerable": True}, "line 1: an answerable question needs"),
        (
            {"question": "Why?", "answer": "x", "answerable": True, "split": "training"},
            "line 1: 'split' is 'training'; use 'train', 'validation' or 'test'",
        ),
        ({"question": "Why?", "answerable": False, "source": 3}, "'source' must be a file name"),
    ],
)
def test_bad_question_rows_are_refused_with_their_line(
    tmp_path: Path, row: Any, message: str
) -> None:
    path = tmp_path / "questions.jsonl"
    if isinstance(row, str):
        path.write_text(row + "\n", encoding="utf-8")
    else:
        write_questions(path, [row])
    with pytest.raises(SupportProjectError, match=message) as error:
        read_knowledge_questions(path)
    assert str(path) in error.value.message


@pytest.fixture()
def desk(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The untrained project with one indexed passage (so the tiny random encoder cannot change
    which passage a reply cites) and the scripted generator in place of its generate bundle."""
    docs = project_dir / "docs"
    docs.mkdir()
    (docs / "shop.md").write_text(f"# Shop\n\n{REFUND_ANSWER} {HOURS_ANSWER}\n", encoding="utf-8")
    settings = yaml.safe_load((project_dir / "support.yaml").read_text(encoding="utf-8"))
    settings["knowledge"] = {"generate_bundle": "replies", "min_similarity": -1}
    (project_dir / "support.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    index_project(load_project(project_dir))
    monkeypatch.setattr(project_tuning, "load_generator", lambda path, where: ScriptedGenerator())
    return project_dir


def test_the_command_writes_the_threshold_to_build_and_leaves_support_yaml_alone(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_questions(desk / "knowledge_questions.jsonl", question_rows())
    settings_before = (desk / "support.yaml").read_text(encoding="utf-8")
    assert run(["app", "support", "tune-grounding", str(desk), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    written = json.loads((desk / "build" / "grounding.json").read_text(encoding="utf-8"))
    assert summary["output"] == str(desk / "build" / "grounding.json")
    assert {k: v for k, v in summary.items() if k != "output"} == written
    assert written["support_threshold"] == 1.0 and written["validation_precision"] == 1.0
    assert written["questions"] == 5 and written["scored_replies"] == 4
    assert written["set_in_support_yaml"] == "knowledge: {support_threshold: 1.0}"
    assert (desk / "support.yaml").read_text(encoding="utf-8") == settings_before
    assert run(["app", "support", "tune-grounding", str(desk), "--target-precision", "0.6"]) == 0
    printed = capsys.readouterr().out
    assert "support threshold 0.75 (validation precision 0.667, coverage 0.750" in printed
    assert "set in support.yaml: knowledge: {support_threshold: 0.75}" in printed
    assert "warning" not in printed
    # only a wrong answer to score: no threshold reaches the target, and the command says so
    rows = [row for row in question_rows() if row["question"] in CASES_WITHOUT_A_RIGHT_REPLY]
    write_questions(desk / "wrong.jsonl", rows)
    arguments = ["--questions", str(desk / "wrong.jsonl")]
    assert run(["app", "support", "tune-grounding", str(desk), *arguments]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "target NOT reached on validation" in printed
    assert "warning: no threshold makes the accepted replies truly supported" in printed


@pytest.mark.parametrize(
    ("arguments", "rows", "message"),
    [
        ([], None, "There is no questions file"),
        (["--questions", "q.jsonl"], [], "None of the 0 validation questions is answerable"),
        (
            ["--questions", "q.jsonl"],
            [{"question": "Bitcoin?", "answerable": False}],
            "None of the 1 validation questions is answerable",
        ),
        (["--target-precision", "0"], "default", "The target precision is 0.0"),
        (["--target-precision", "1.5"], "default", "The target precision is 1.5"),
    ],
)
def test_the_command_refuses_bad_input_before_loading_a_model(
    desk: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    rows: Any,
    message: str,
) -> None:
    def never(path: Path, where: Path) -> None:
        raise AssertionError("the generator was loaded")

    monkeypatch.setattr(project_tuning, "load_generator", never)
    monkeypatch.chdir(desk)
    if rows == "default":
        write_questions(desk / "knowledge_questions.jsonl", question_rows())
    elif rows is not None:
        write_questions(desk / "q.jsonl", rows)
    assert run(["app", "support", "tune-grounding", str(desk), *arguments]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert message in error and "Traceback" not in error
    assert not (desk / "build" / "grounding.json").exists()


def test_the_command_says_what_to_set_up_first(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_questions(project_dir / "knowledge_questions.jsonl", question_rows())
    assert run(["app", "support", "tune-grounding", str(project_dir)]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "sets no knowledge.generate_bundle" in error and "Traceback" not in error
    settings = yaml.safe_load((project_dir / "support.yaml").read_text(encoding="utf-8"))
    settings["knowledge"] = {"generate_bundle": "replies"}
    (project_dir / "support.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (project_dir / "docs").mkdir()
    (project_dir / "docs" / "hours.md").write_text(HOURS_ANSWER, encoding="utf-8")
    assert run(["app", "support", "tune-grounding", str(project_dir)]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert "holds no knowledge index yet" in error and "support index" in error


def test_a_reply_is_scored_whole_even_past_a_sentence_that_fails_the_current_threshold() -> None:
    written = "Refunds take five days [1]. Refunds purple elephants. Zebras."
    grounded = stub_answerer(written)
    assert grounded.settings.support_threshold == 0.5
    stopped = grounded.answer("refund?")
    assert [round(s.score, 2) for s in stopped.sentences] == [0.75, 0.33]  # "take" is not in it
    question = KnowledgeQuestion("refund?", "Refunds take five days.", True, "validation")
    [scored] = score_replies(grounded, [question])
    assert scored.score == 0.0 and scored.text == written
