"""A generate bundle from the command line: the prompt column named in data warnings, one
answer streamed to the terminal, files of prompts or chats answered with every column kept,
and a report and card with the generation metrics by name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bizlm.cli import run
from bizlm.evaluation.metric_tables import headline_keys, metric_name
from bizlm.predictor import load
from bizlm.recipe import validate_recipe
from bizlm.tasks.generate_predictor import GeneratePredictor
from bizlm.training.prepare import prepare_data
from tests.tasks.conftest import tiny_chat_model_dir  # noqa: F401  (a fixture, used below)
from tests.tasks.test_generate import PAIRS, TRAIN
from tests.tasks.test_generate_data import assistant, user, write_jsonl


def generate_recipe(model: Path, folder: Path, rows: list[dict], epochs: int) -> dict:
    """A full fine-tuning recipe on ``rows`` of question/answer columns."""
    data = write_jsonl(folder / "train.jsonl", rows)
    return {
        "model": str(model),
        "task": {"type": "generate", "prompt_column": "question", "response_column": "answer"},
        "data": {"train": str(data), "validation": str(data), "test": str(data)},
        "method": "full",
        "train": {**TRAIN, "epochs": epochs, "learning_rate": 1e-2},
        "decoding": {"max_new_tokens": 8},
        "output": str(folder / "bundle"),
    }


@pytest.fixture(scope="module")
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained with ``bizlm train`` to answer the PAIRS (column 'question')."""
    model = request.getfixturevalue("tiny_chat_model_dir")
    folder = tmp_path_factory.mktemp("generate-cli")
    rows = [{"question": p, "answer": r} for p, r in PAIRS] * 4
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(generate_recipe(model, folder, rows, 30)), "utf-8")
    assert run(["train", str(path), "--json"]) == 0
    return folder / "bundle"


def fails_with(capsys: pytest.CaptureFixture[str], argv: list[str], *fragments: str) -> None:
    code = run(argv)
    message = " ".join(capsys.readouterr().err.split())
    assert code == 2, message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_one_text_is_printed_piece_by_piece_as_it_is_written(
    bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    streamed = GeneratePredictor.stream
    printed_so_far: list[str] = []

    def watched(self: GeneratePredictor, prompt: str, **overrides: object) -> Iterator[str]:
        for piece in streamed(self, prompt, **overrides):
            yield piece
            printed_so_far.append(capsys.readouterr().out)  # before the next piece is made

    monkeypatch.setattr(GeneratePredictor, "stream", watched)
    assert run(["predict", str(bundle), "say hello to anna"]) == 0
    assert len(printed_so_far) > 1 and "".join(printed_so_far) == "hello anna"
    assert capsys.readouterr().out.split() == ["say", "hello", "to", "anna"]  # tab, text


def test_several_texts_and_json_keep_the_whole_answers(
    bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_streamed(*args: object, **kwargs: object) -> None:
        raise AssertionError("streamed")

    monkeypatch.setattr(GeneratePredictor, "stream", not_streamed)
    assert run(["predict", str(bundle), "say hello to anna", "say goodbye to bob"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == ["hello", "anna", "say", "hello", "to", "anna"]
    assert lines[1] == ["goodbye", "bob", "say", "goodbye", "to", "bob"]
    assert run(["predict", str(bundle), "say hello to anna", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"text": "say hello to anna", "generated_text": "hello anna"}
    ]


def test_a_file_of_prompts_and_chats_keeps_every_column(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = [user("say goodbye to bob"), assistant("goodbye bob"), user("say hello to anna")]
    rows = [
        {"id": 1, "question": "say hello to anna", "team": "sales"},
        {"id": 2, "question": "", "team": "sales"},
        {"id": 3, "messages": chat, "team": "support"},
        {"id": 4, "question": "translate cat into french", "team": "support"},
    ]
    source = write_jsonl(tmp_path / "asks.jsonl", rows)
    assert run(["predict", str(bundle), "--input", str(source), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["rows"], summary["predicted"], summary["empty_text"]) == (4, 3, 1)
    written = [json.loads(line) for line in Path(summary["output"]).read_text().splitlines()]
    assert [row["id"] for row in written] == [1, 2, 3, 4]
    assert [row["team"] for row in written] == ["sales", "sales", "support", "support"]
    assert written[2]["messages"] == chat
    model = load(bundle)
    assert [row["generated_text"] for row in written] == [
        "hello anna",
        "",
        model.chat([chat])[0],
        model.generate(["translate cat into french"])[0],
    ]


def test_the_prompt_column_can_be_named(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "asks.jsonl", [{"ask": "say goodbye to bob"}])
    output = tmp_path / "answers.csv"
    argv = ["predict", str(bundle), "--input", str(source), "--output", str(output)]
    assert run([*argv, "--text-column", "ask"]) == 0
    assert "1 rows predicted" in capsys.readouterr().out
    assert output.read_text().splitlines() == [
        "ask,generated_text",
        "say goodbye to bob,goodbye bob",
    ]


def test_files_without_prompts_or_with_answered_chats_are_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = write_jsonl(tmp_path / "texts.jsonl", [{"text": "say hello to anna"}])
    fails_with(
        capsys,
        ["predict", str(bundle), "--input", str(texts)],
        "has no prompt column 'question' and no 'messages' column; its columns are: text.",
        "--text-column COLUMN",
    )
    answered = [{"messages": [user("hi")]}, {"messages": [user("hi"), assistant("ho")]}]
    chats = write_jsonl(tmp_path / "chats.jsonl", answered)
    fails_with(
        capsys,
        ["predict", str(bundle), "--input", str(chats)],
        "chats.jsonl line 2: the conversation ends on assistant; it must end on a user turn",
    )


def test_report_and_card_show_the_generation_metrics_by_name(bundle: Path) -> None:
    metrics = json.loads((bundle / "bizlm.json").read_text())["metrics"]
    assert headline_keys(metrics) == ["rouge_l", "chrf", "exact_match", "count"]
    report = (bundle / "report.html").read_text()
    headline = report.split('<div class="headline">', 1)[1].split("</div>\n", 1)[0]
    for name in ("ROUGE-L (F-measure)", "chrF", "Exact match", "Examples"):
        assert f"<div><div>{name}</div>" in headline
        assert f"<tr><th>{name}</th>" in report
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "| ROUGE-L (F-measure) | " in card and "| Examples | 24 |" in card
    json_scores = {"json_valid": 1.0, "json_field_accuracy": 0.5, "rouge_l": 0.7, "count": 3}
    assert headline_keys(json_scores) == ["json_field_accuracy", "json_valid", "rouge_l", "count"]
    assert [metric_name(k) for k in ("json_valid", "json_field_accuracy", "perplexity")] == [
        "Valid JSON",
        "JSON field accuracy",
        "Perplexity",
    ]


def test_data_warnings_name_the_prompt_column(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    model = request.getfixturevalue("tiny_chat_model_dir")
    rows = [{"question": str(1000 + i), "answer": "a number"} for i in range(8)]
    recipe = validate_recipe(generate_recipe(model, tmp_path, rows, 1))
    notes = prepare_data(recipe).summary["warnings"]
    [note] = [note for note in notes if "numbers only" in note]
    assert "train.jsonl, prompt column 'question': 8 of 8 texts (100%) are numbers only" in note
    assert "task.prompt_column names the column" in note and "text_column" not in note
