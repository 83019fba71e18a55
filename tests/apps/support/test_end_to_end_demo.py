"""The demo desk end to end with the real default model, on a few hundred trec questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bizlm.apps.support.agent import SupportAgent
from bizlm.cli import run


@pytest.mark.slow
def test_demo_desk_trains_and_answers(tmp_path: Path) -> None:
    root = tmp_path / "demo-desk"
    assert run(["app", "support", "init", str(root), "--demo", "--per-intent", "20"]) == 0
    recipe = yaml.safe_load((root / "recipe.yaml").read_text())
    recipe["train"]["epochs"] = 2
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    assert run(["app", "support", "train", str(root), "--quiet"]) == 0
    info = json.loads((root / "build" / "support.json").read_text())
    assert info["method"] == "fewshot"  # 14 training examples per intent
    assert info["test"]["in_scope_examples"] >= 12 * 3
    assert info["test"]["intent_accuracy"] > 0.5  # 12 intents: chance is 0.08
    agent = SupportAgent(root)
    reply = agent.answer("Which inventor created the phone?")
    assert reply.sources[0]["id"] == "telephone"
    assert reply.kind == "faq" and "Bell" in reply.text
