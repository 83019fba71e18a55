"""The desk with a generate bundle: a generated, cited answer after the FAQ step, hand-off
with the grounding check's reason, and the generate bundles support.yaml may not name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bizlm.apps.support.agent import SupportAgent
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.answerer import UNSUPPORTED
from bizlm.apps.support.knowledge.indexer import index_project
from bizlm.apps.support.project import load_project
from tests.apps.support.test_grounded_answerer import (  # noqa: F401  (fixtures)
    StubGenerator,
    generate_bundle,
    tiny_generator_dir,
)

REFUNDS = "Refunds reach your card within five working days."


def configure(root: Path, knowledge: dict) -> None:
    """Set the ``knowledge`` section of the project's support.yaml."""
    path = root / "support.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    settings["knowledge"] = knowledge
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")


@pytest.fixture(scope="module")
def desk(
    trained_dir: Path,
    generate_bundle: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A copy of the trained project with one indexed document and the tiny generate bundle."""
    root = tmp_path_factory.mktemp("grounded") / "desk"
    shutil.copytree(trained_dir, root)
    (root / "docs").mkdir()
    (root / "docs" / "billing.md").write_text(f"# Refunds\n\n{REFUNDS}\n", encoding="utf-8")
    configure(root, {"generate_bundle": str(generate_bundle), "min_similarity": -1})
    index_project(load_project(root))
    return root


def without_templates_or_faq(root: Path) -> SupportAgent:
    """The desk's agent, answering neither with a template nor from the FAQ."""
    agent = SupportAgent(root)
    agent.project.templates = {}
    agent.project.settings.faq.min_similarity = 1.01
    return agent


def agent_writing(root: Path, reply: str) -> SupportAgent:
    """The desk's agent with no template or FAQ answer and a generator that writes ``reply``."""
    agent = without_templates_or_faq(root)
    assert agent.grounded is not None
    agent.grounded.generator = StubGenerator(reply)
    return agent


def test_a_grounded_reply_answers_after_the_faq_with_its_sources(desk: Path) -> None:
    answer = agent_writing(desk, f"{REFUNDS[:-1]} [1].").answer("when do refunds reach my card")
    assert answer.kind == "generated" and not answer.handoff
    assert answer.text == f"{REFUNDS[:-1]} [1]." and answer.handoff_reason is None
    [source] = answer.sources
    assert source["file"] == "billing.md" and source["heading"] == "Refunds"
    assert source["link"] == f"/v1/support/sources/{source['passage_id']}"
    assert source["text"] == REFUNDS and source["number"] == 1


def test_personal_data_in_a_generated_reply_is_masked(desk: Path) -> None:
    reply = f"{REFUNDS[:-1]}, or write to jane.doe@example.com [1]."
    answer = agent_writing(desk, reply).answer("when do refunds reach my card")
    assert answer.kind == "generated"
    assert "jane.doe@example.com" not in answer.text and "[EMAIL]" in answer.text


def test_an_unsupported_reply_hands_off_with_the_reason(desk: Path) -> None:
    agent = agent_writing(desk, "Purple elephants carry refunds to Mars [1].")
    answer = agent.answer("when do refunds reach my card")
    assert answer.handoff and answer.text == agent.project.settings.handoff_message
    assert answer.handoff_reason == UNSUPPORTED


def test_the_real_generator_runs_inside_the_desk(desk: Path) -> None:
    answer = without_templates_or_faq(desk).answer("when do refunds reach my card")
    assert answer.kind in ("generated", "handoff")
    assert answer.handoff_reason in (None, UNSUPPORTED, "empty_reply")


def test_without_a_generate_bundle_the_desk_is_unchanged(trained_dir: Path) -> None:
    agent = without_templates_or_faq(trained_dir)
    assert agent.grounded is None
    answer = agent.answer("seat plane")
    assert answer.handoff and answer.handoff_reason is None


def test_without_an_index_no_answer_is_generated(desk: Path, tmp_path: Path) -> None:
    root = tmp_path / "desk"
    shutil.copytree(desk, root, ignore=shutil.ignore_patterns("knowledge"))
    assert SupportAgent(root).grounded is None


def test_a_classify_bundle_as_generate_bundle_is_refused(desk: Path, tmp_path: Path) -> None:
    root = tmp_path / "desk"
    shutil.copytree(desk, root)
    configure(root, {"generate_bundle": "build/intent"})
    with pytest.raises(SupportProjectError, match="is a classify bundle") as error:
        SupportAgent(root)
    assert f"{root / 'support.yaml'}: knowledge.generate_bundle" in error.value.message


@pytest.mark.parametrize(
    ("knowledge", "message"),
    [
        ({"generate_bundel": "x"}, "generate_bundel"),
        ({"top_k": 0}, "knowledge.top_k"),
        ({"support_threshold": 1.5}, "knowledge.support_threshold"),
    ],
)
def test_bad_knowledge_settings_are_refused(
    project_dir: Path, knowledge: dict, message: str
) -> None:
    configure(project_dir, knowledge)
    with pytest.raises(SupportProjectError, match=message) as error:
        load_project(project_dir)
    assert str(project_dir / "support.yaml") in str(error.value)


def test_the_chat_api_returns_a_generated_reply_and_its_sources(desk: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from bizlm.apps.support.service import create_support_app
    from bizlm.serve.settings import ServeSettings

    root = tmp_path / "desk"
    shutil.copytree(desk, root)
    (root / "templates.yaml").write_text("templates: {}\n", encoding="utf-8")
    settings = yaml.safe_load((root / "support.yaml").read_text(encoding="utf-8"))
    settings.setdefault("faq", {})["min_similarity"] = 1.0
    (root / "support.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    app, store = create_support_app(root, ServeSettings(auth=False), tmp_path / "chat.db")
    try:
        with TestClient(app) as client:
            reply = client.post("/v1/support/chat", json={"message": "when do refunds arrive"})
    finally:
        store.close()
    assert reply.status_code == 200
    body = reply.json()
    assert body["kind"] in ("generated", "handoff")
    assert "handoff_reason" in body
    if body["kind"] == "generated":
        assert body["sources"] and body["sources"][0]["file"] == "billing.md"
    else:
        assert body["handoff_reason"] in (UNSUPPORTED, "empty_reply", "weak_retrieval")
