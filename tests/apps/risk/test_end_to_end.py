"""End to end with the real default model: init, train both models from the catalog on a few
hundred examples, replay real news and tweets through the CLI, read labels and trends."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from bizlm.apps.risk.config import RiskFolder
from bizlm.apps.risk.store import ItemStore
from bizlm.cli import run
from bizlm.data.catalog import fetch

pytestmark = pytest.mark.slow
T0 = 1_704_067_200.0


@pytest.fixture(autouse=True)
def _isolated_home() -> None:
    """Use the real bizlm home here: the catalog datasets are cached there."""


def rows(name: str) -> list[dict]:
    content = (fetch(name) / "test.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in content.split("\n") if line.strip()]


def test_a_real_stream_is_labelled_and_counted(tmp_path: Path, capsys):
    folder = tmp_path / "risk"
    assert run(["app", "risk", "init", str(folder)]) == 0
    for role in ("topic", "sentiment"):
        path = folder / "recipes" / f"{role}.yaml"
        recipe = yaml.safe_load(path.read_text())
        recipe["data"]["max_train_examples"] = 300
        recipe["train"].update({"epochs": 1, "max_length": 40})
        path.write_text(yaml.safe_dump(recipe))
    assert run(["app", "risk", "train", str(folder)]) == 0

    rng = random.Random(0)
    news = rng.sample(rows("bbc-news"), 150)
    tweets = rng.sample(rows("aapl-tweets"), 100)
    items = [
        {"id": f"n{i}", "time": T0 + i * 60, "source": "wire", "text": row["text"]}
        for i, row in enumerate(news)
    ] + [
        {"id": f"t{i}", "time": T0 + i * 90, "source": "social", "text": row["text"]}
        for i, row in enumerate(tweets)
    ]
    history = tmp_path / "history.jsonl"
    history.write_text("\n".join(json.dumps(item) for item in items) + "\n")
    capsys.readouterr()
    replay = ["app", "risk", "replay", str(history), "--speed", "max", "--dir", str(folder)]
    assert run([*replay, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 250

    store = ItemStore(RiskFolder.open(folder).database)
    try:
        assert store.counts_by_status() == {"pending": 0, "done": 250, "failed": 0}
        labelled = {row["id"]: row for row in store.latest(250)}
        counts = store.window_counts(3600, "negative")
    finally:
        store.close()
    right = sum(labelled[f"n{i}"]["topic"] == row["label"] for i, row in enumerate(news))
    majority = max(
        sum(row["label"] == label for row in news) for label in {r["label"] for r in news}
    )
    assert right > majority + 15  # real topic model beats always answering the largest class
    assert sum(count.count for count in counts) == 250
    assert {count.topic for count in counts} <= {
        "business",
        "entertainment",
        "politics",
        "sports",
        "tech",
    }
