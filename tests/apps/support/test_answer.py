"""Training a project and answering: template, FAQ, hand-off; the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizlm.apps.support.agent import SupportAgent, fill_template
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.project import OUT_OF_SCOPE, load_project
from bizlm.apps.support.training import (
    choose_method,
    entity_types_of,
    split_examples,
    train_project,
)
from bizlm.cli import run
from tests.apps.support.conftest import write_project
from tests.tasks.conftest import tag_config


def test_training_writes_calibration_and_test_scores(trained_dir: Path) -> None:
    info = json.loads((trained_dir / "build" / "support.json").read_text())
    assert info["method"] == "full"
    assert info["labels"] == ["complaint", "praise", "travel"]
    assert 0 < info["calibration"]["threshold"] <= 1
    assert info["test"]["in_scope_examples"] > 0 and info["test"]["out_of_scope_examples"] > 0
    assert (trained_dir / "build" / "intent" / "bizlm.json").is_file()
    assert (trained_dir / "build" / "faq_vectors.npy").is_file()
    fusion = info["faq_fusion"]
    assert fusion["source"] == "faq_queries.jsonl" and fusion["queries"] == 2
    mrr = fusion["mrr_by_weight"]
    assert mrr[str(fusion["bm25_weight"])] == max(mrr.values())


def test_split_keeps_out_of_scope_out_of_training(project_dir: Path) -> None:
    splits = split_examples(load_project(project_dir), seed=1)
    assert all(label != OUT_OF_SCOPE for _, label in splits.train)
    held = [t for t, label in splits.validation + splits.test if label == OUT_OF_SCOPE]
    assert sorted(held) == sorted(load_project(project_dir).out_of_scope)
    texts = [t for t, _ in splits.train + splits.validation + splits.test]
    assert len(texts) == 90 + 4  # nothing dropped


def test_method_rule_picks_fewshot_for_few_examples(project_dir: Path) -> None:
    project = load_project(project_dir)
    project.recipe.pop("method")
    few = [("x", name) for name in project.intents for _ in range(5)]
    many = [("x", name) for name in project.intents for _ in range(40)]
    assert choose_method(project, few) == {"name": "fewshot"}
    assert choose_method(project, many) == {"name": "full"}


def test_template_answers_a_confident_intent(trained_dir: Path) -> None:
    agent = SupportAgent(trained_dir)
    agent.project.templates = {label: f"template of {label}" for label in agent.intents.labels}
    agent.threshold = 0.0
    reply = agent.answer("bad awful rude the")
    assert reply.kind == "template" and reply.text == f"template of {reply.intent}"
    assert not reply.handoff


def test_faq_answers_when_no_template(trained_dir: Path) -> None:
    agent = SupportAgent(trained_dir)
    agent.project.templates = {}
    reply = agent.answer("bag gate ticket")
    assert reply.kind == "faq" and reply.text == "Bags go to gate 4."
    assert reply.sources[0]["id"] == "bag"


def test_handoff_when_nothing_fits(trained_dir: Path) -> None:
    agent = SupportAgent(trained_dir)
    agent.project.templates = {}
    agent.project.settings.faq.min_similarity = 1.01
    agent.threshold = 1.01
    reply = agent.answer("seat plane")
    assert reply.handoff and reply.intent == OUT_OF_SCOPE
    assert reply.text == agent.project.settings.handoff_message


def test_fill_template_from_entities() -> None:
    entities = [
        {"type": "PER", "text": "Ann"},
        {"type": "LOC", "text": "Oslo"},
        {"type": "PER", "text": "Bo"},
    ]
    assert fill_template("Hi {PER}, see you in {LOC}.", entities) == "Hi Ann, see you in Oslo."
    assert fill_template("Hi {ORG}", entities) is None
    assert fill_template("No slots.", []) == "No slots."


def test_untrained_project_is_refused(project_dir: Path) -> None:
    with pytest.raises(SupportProjectError, match="has not been trained"):
        SupportAgent(project_dir)
    assert run(["app", "support", "ask", str(project_dir), "hello"]) == 2


def test_cli_ask(trained_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["app", "support", "ask", str(trained_dir), "bag gate ticket", "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["kind"] in {"template", "faq", "handoff"}
    assert reply["sources"][0]["id"] == "bag"
    assert run(["app", "support", "ask", str(trained_dir), "   "]) == 2
    assert run(["app", "support", "ask", str(trained_dir), "x" * 1001]) == 2


def test_ner_bundle_fills_template_slots(tmp_path: Path, tiny_model_dir: Path) -> None:
    import bizlm

    tagger = bizlm.train(tag_config(tiny_model_dir, tmp_path, sentences=120, epochs=8)).bundle
    templates = {"templates": {"praise": "Thanks {PER}, we will tell the team."}}
    settings = {"target_precision": 0.5, "ner_bundle": str(tagger)}
    root = write_project(
        tmp_path / "desk", tiny_model_dir, **{"templates.yaml": templates, "support.yaml": settings}
    )
    assert entity_types_of(load_project(root)) == ["LOC", "PER"]
    train_project(root)
    agent = SupportAgent(root)
    agent.classify = lambda text: ("praise", 0.9)  # the tagger is what this test is about
    message = "the good was nice and rude"
    found = bizlm.load(tagger).predict([message])[0]["entities"]
    people = [e["text"] for e in found if e["type"] == "PER"]
    assert people, found  # eight epochs are enough for the tiny tagger to find a person
    reply = agent.answer(message)
    assert reply.entities == found
    assert reply.kind == "template"
    assert reply.text == f"Thanks {people[0]}, we will tell the team."
    agent.classify = lambda text: ("complaint", 0.9)  # no template: the FAQ or a person
    assert agent.answer(message).kind != "template"


def test_slot_check_reads_the_ner_bundle(tmp_path: Path, tiny_model_dir: Path) -> None:
    import bizlm

    tagger = bizlm.train(tag_config(tiny_model_dir, tmp_path, sentences=30, epochs=1)).bundle
    templates = {"templates": {"praise": "Thanks {ORG}."}}
    settings = {"ner_bundle": str(tagger)}
    root = write_project(
        tmp_path / "desk", tiny_model_dir, **{"templates.yaml": templates, "support.yaml": settings}
    )
    with pytest.raises(SupportProjectError, match=r"\['ORG'\].*provides \['LOC', 'PER'\]"):
        train_project(root)
    assert run(["app", "support", "train", str(root), "--quiet"]) == 2
