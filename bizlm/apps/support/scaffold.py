"""``bizlm app support init``: a starter project, or the demo desk built from the trec catalog."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.faq_files import FAQ_FILE, QUERIES_FILE
from bizlm.apps.support.grounded.questions import QUESTIONS_FILE
from bizlm.apps.support.project import (
    DOCS_DIR,
    INTENTS_FILE,
    RECIPE_FILE,
    SETTINGS_FILE,
    TEMPLATES_FILE,
)
from bizlm.atomic import atomic_write_text
from bizlm.data.catalog import fetch

PROJECT_FILES = (INTENTS_FILE, FAQ_FILE, TEMPLATES_FILE, RECIPE_FILE, SETTINGS_FILE)
DEMO_DIR = Path(__file__).parent / "demo"
DEMO_TEST_QUERIES = DEMO_DIR / "faq_test_queries.jsonl"  # never copied into the project

_STARTER_INTENTS = {
    "intents": {
        "order_status": {
            "description": "Where an order is and when it arrives.",
            "examples": [
                "Where is my order?",
                "My parcel has not arrived yet",
                "When will my package be delivered?",
                "Can you track my order",
                "The delivery is late",
                "Has my order shipped?",
            ],
        },
        "refund": {
            "description": "Money back for a return or a cancelled order.",
            "examples": [
                "I want my money back",
                "How do I get a refund?",
                "Refund for a returned item",
                "When will I be refunded",
                "I cancelled and want a refund",
                "The refund has not reached my card",
            ],
        },
        "opening_hours": {
            "description": "When the shop or the helpline is open.",
            "examples": [
                "What are your opening hours?",
                "When are you open?",
                "Are you open on Sunday?",
                "What time does the shop close",
                "Is the helpline open at night?",
                "Opening times please",
            ],
        },
    },
    "out_of_scope": ["What is the weather tomorrow?", "Tell me a joke", "Who won the match?"],
}
_STARTER_FAQ = [
    {
        "id": "returns",
        "question": "How do I return an item?",
        "tags": ["returns"],
        "answer": "Print the return label from your account and drop the parcel at any post office "
        "within 30 days.",
    },
    {
        "id": "shipping-time",
        "question": "How long does delivery take?",
        "tags": ["shipping"],
        "answer": "Standard delivery takes 2-4 working days; express delivery arrives next day.",
    },
    {
        "id": "hours",
        "question": "When is customer service open?",
        "tags": ["contact"],
        "answer": "Our helpline is open Monday to Saturday, 8:00 to 20:00.",
    },
]
_STARTER_TEMPLATES = {
    "templates": {
        "refund": "Refunds reach your account 3-5 working days after we receive the return.",
    }
}
_SETTINGS = {"target_precision": 0.9, "faq": {"min_similarity": 0.55, "top_k": 3}}
_STARTER_RECIPE = {
    "model": "default",
    "train": {"epochs": 4, "batch_size": 16, "learning_rate": 5e-5, "max_length": 64},
}


def _write_yaml(path: Path, content: dict[str, Any], header: str = "") -> None:
    body = yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_text(path, header + body)


def _write_faq(path: Path, entries: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))


def _check_target(root: Path, force: bool) -> None:
    if root.exists() and any(root.iterdir()) and not force:
        raise SupportProjectError(
            f"{root} already exists and is not empty.",
            hint="Choose a new folder, or pass --force to overwrite the project files.",
        )
    root.mkdir(parents=True, exist_ok=True)


def init_project(root: Path, force: bool = False) -> list[Path]:
    """Write a small starter project (an online shop's desk) to edit; return the files."""
    _check_target(root, force)
    _write_yaml(root / INTENTS_FILE, _STARTER_INTENTS)
    _write_faq(root / FAQ_FILE, _STARTER_FAQ)
    _write_yaml(root / TEMPLATES_FILE, _STARTER_TEMPLATES)
    _write_yaml(root / RECIPE_FILE, _STARTER_RECIPE)
    _write_yaml(root / SETTINGS_FILE, _SETTINGS)
    return [root / name for name in PROJECT_FILES]


def trec_rows() -> list[dict[str, str]]:
    """Every row of the trec catalog set (fetched on first use)."""
    folder = fetch("trec")
    rows = []
    for split in ("train", "validation", "test"):
        lines = (folder / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        rows += [json.loads(line) for line in lines if line.strip()]
    return rows


def demo_intents(per_intent: int, out_of_scope_per_type: int, seed: int) -> dict[str, Any]:
    """intents.yaml content: trec questions of the demo's question types, sampled."""
    plan = yaml.safe_load((DEMO_DIR / INTENTS_FILE).read_text(encoding="utf-8"))
    by_label: dict[str, list[str]] = {}
    for row in trec_rows():
        by_label.setdefault(row["label_fine"], []).append(row["text"])
    rng = random.Random(seed)

    def sample(label: str, size: int) -> list[str]:
        texts = sorted(set(by_label.get(label, [])))
        return rng.sample(texts, min(size, len(texts)))

    intents = {
        name: {"description": spec["description"], "examples": sample(spec["trec"], per_intent)}
        for name, spec in plan["intents"].items()
    }
    outside = [t for label in plan["out_of_scope"] for t in sample(label, out_of_scope_per_type)]
    return {"intents": intents, "out_of_scope": outside}


def init_demo(
    root: Path,
    force: bool = False,
    per_intent: int = 60,
    out_of_scope_per_type: int = 15,
    seed: int = 13,
) -> list[Path]:
    """The demo desk: 12 trec question types as intents, a written FAQ with customer wordings
    of its questions (``faq_queries.jsonl``), one template, and the library's documents
    (``docs/``) with questions about them (``knowledge_questions.jsonl``)."""
    _check_target(root, force)
    header = (
        "# Demo desk: intents are TREC question types (trec catalog set, fine labels); the\n"
        "# out_of_scope messages are questions of types the desk does not cover.\n"
    )
    _write_yaml(root / INTENTS_FILE, demo_intents(per_intent, out_of_scope_per_type, seed), header)
    documents = [f"{DOCS_DIR}/{path.name}" for path in sorted((DEMO_DIR / DOCS_DIR).iterdir())]
    (root / DOCS_DIR).mkdir(exist_ok=True)
    for name in (FAQ_FILE, QUERIES_FILE, TEMPLATES_FILE, RECIPE_FILE, QUESTIONS_FILE, *documents):
        atomic_write_text(root / name, (DEMO_DIR / name).read_text(encoding="utf-8"))
    _write_yaml(root / SETTINGS_FILE, _SETTINGS)
    return [root / name for name in (*PROJECT_FILES, QUERIES_FILE, QUESTIONS_FILE, *documents)]
