"""Project files: the starter project loads; every bad input gets a clear error (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.project import load_project
from bizlm.apps.support.scaffold import init_project
from bizlm.apps.support.training import split_examples
from bizlm.cli import run
from tests.apps.support.conftest import write_project


def test_init_writes_a_project_that_loads(tmp_path: Path) -> None:
    files = init_project(tmp_path / "desk")
    assert {f.name for f in files} == {
        "intents.yaml",
        "faq.jsonl",
        "templates.yaml",
        "recipe.yaml",
        "support.yaml",
    }
    project = load_project(tmp_path / "desk")
    assert set(project.intents) == {"order_status", "refund", "opening_hours"}
    assert project.templates["refund"].startswith("Refunds")
    assert len(project.faq) == 3


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "notes.txt").write_text("mine")
    assert run(["app", "support", "init", str(tmp_path / "desk")]) == 2
    assert (tmp_path / "desk" / "notes.txt").read_text() == "mine"


def test_template_for_an_unknown_intent(tmp_path: Path, tiny_model_dir: Path) -> None:
    root = write_project(
        tmp_path / "desk", tiny_model_dir, **{"templates.yaml": {"templates": {"lost_bag": "x"}}}
    )
    with pytest.raises(SupportProjectError, match=r"template intent\(s\) \['lost_bag'\] are not"):
        load_project(root)
    assert run(["app", "support", "train", str(root), "--quiet"]) == 2


def test_template_slot_without_entity_type(tmp_path: Path, tiny_model_dir: Path) -> None:
    templates = {"templates": {"complaint": "Sorry {PER}, your bag is at {LOC}."}}
    root = write_project(tmp_path / "desk", tiny_model_dir, **{"templates.yaml": templates})
    with pytest.raises(SupportProjectError, match=r"slot\(s\) \['PER', 'LOC'\].*no NER bundle"):
        load_project(root)
    settings = {"entity_types": ["PER"], "ner_bundle": "ner"}
    root = write_project(
        tmp_path / "desk2",
        tiny_model_dir,
        **{"templates.yaml": templates, "support.yaml": settings},
    )
    with pytest.raises(SupportProjectError, match=r"slot\(s\) \['LOC'\].*provides \['PER'\]"):
        load_project(root)


def test_empty_faq(tmp_path: Path, tiny_model_dir: Path) -> None:
    root = write_project(tmp_path / "desk", tiny_model_dir, **{"faq.jsonl": []})
    with pytest.raises(SupportProjectError, match="holds no FAQ entry"):
        load_project(root)
    assert run(["app", "support", "train", str(root), "--quiet"]) == 2


def test_intent_with_too_few_examples(tmp_path: Path, tiny_model_dir: Path) -> None:
    intents = {"intents": {"hello": {"examples": ["hi", "hello"]}, "bye": {"examples": ["a"] * 5}}}
    root = write_project(
        tmp_path / "desk", tiny_model_dir, **{"intents.yaml": intents, "templates.yaml": {}}
    )
    with pytest.raises(SupportProjectError, match="'hello' has 2 example"):
        split_examples(load_project(root), seed=1)


def test_reserved_intent_name_and_bad_settings(tmp_path: Path, tiny_model_dir: Path) -> None:
    intents = {"intents": {"out_of_scope": {"examples": ["a b c d"]}}}
    root = write_project(tmp_path / "desk", tiny_model_dir, **{"intents.yaml": intents})
    with pytest.raises(SupportProjectError, match="reserved"):
        load_project(root)
    root = write_project(
        tmp_path / "desk2", tiny_model_dir, **{"support.yaml": {"target_precision": 2}}
    )
    with pytest.raises(SupportProjectError, match="'target_precision'"):
        load_project(root)


def test_missing_project_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    root = write_project(tmp_path / "desk", tiny_model_dir)
    (root / "intents.yaml").unlink()
    with pytest.raises(SupportProjectError, match=r"intents\.yaml does not exist"):
        load_project(root)
    (root / "intents.yaml").write_text(yaml.safe_dump(["not", "a", "mapping"]))
    with pytest.raises(SupportProjectError, match="must hold a mapping"):
        load_project(root)
