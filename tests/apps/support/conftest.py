"""A small support project on the tiny random BERT: three intents drawn from word lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import TINY_TRAIN, make_rows

INTENTS = {"praise": "positive", "complaint": "negative", "travel": "neutral"}
FAQ = [
    {"id": "bag", "question": "bag gate ticket", "answer": "Bags go to gate 4.", "tags": ["bags"]},
    {"id": "crew", "question": "crew friendly nice", "answer": "Our crew thanks you.", "tags": []},
    {"id": "seat", "question": "seat plane today", "answer": "Seats open at 9.", "tags": []},
]
QUERIES = [
    {"question": "my bag and ticket", "faq_id": "bag"},
    {"question": "is the crew nice", "faq_id": "crew"},
]


def write_project(root: Path, model: Path, **overrides: object) -> Path:
    """Write a valid project; ``overrides`` replace whole files' contents by file name."""
    rows = make_rows(90, seed=3)
    intents = {
        name: {
            "description": f"{word} messages",
            "examples": [r["text"] for r in rows if r["label"] == word],
        }
        for name, word in INTENTS.items()
    }
    files: dict[str, object] = {
        "intents.yaml": {"intents": intents, "out_of_scope": ["a b c", "x y z", "q r s", "m n"]},
        "faq.jsonl": FAQ,
        "faq_queries.jsonl": QUERIES,
        "templates.yaml": {"templates": {"complaint": "Sorry to hear that; we will call you."}},
        "recipe.yaml": {
            "model": str(model),
            "method": "full",
            "train": dict(TINY_TRAIN),
        },
        "support.yaml": {"target_precision": 0.8, "faq": {"min_similarity": 0.0}},
    }
    files.update(overrides)
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        if name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(r) + "\n" for r in content), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return root


@pytest.fixture()
def project_dir(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """An untrained valid project."""
    return write_project(tmp_path / "desk", tiny_model_dir)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A project trained once for the whole test session."""
    from bizlm.apps.support.training import train_project

    root = write_project(tmp_path_factory.mktemp("support") / "desk", tiny_model_dir)
    train_project(root)
    return root
