"""End to end with the real default model and a real catalog dataset (a few hundred examples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bizlm
from bizlm.cli import run
from bizlm.data.catalog import fetch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airline_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("e2e") / "airline"
    result = bizlm.train(
        "recipes/airline-full.yaml",
        [
            "data.max_train_examples=600",
            "train.epochs=3",
            "train.max_length=48",
            f"output={output}",
        ],
    )
    return Path(result.bundle)


def test_default_model_beats_the_majority_class_on_real_tweets(airline_bundle: Path) -> None:
    info = json.loads((airline_bundle / "bizlm.json").read_text())
    test_counts = info["data"]["label_distribution"]["test"]
    majority = max(test_counts.values()) / sum(test_counts.values())
    assert info["data"]["counts"]["train"] == 600
    assert info["metrics"]["n"] == sum(test_counts.values())
    assert info["metrics"]["accuracy"] > majority + 0.02
    assert info["data"]["catalog"]["name"] == "airline-tweets"


def test_evaluate_and_predict_agree_with_the_bundle(airline_bundle: Path, capsys) -> None:
    test_file = fetch("airline-tweets") / "test.jsonl"
    metrics = bizlm.evaluate(airline_bundle, test_file)
    saved = json.loads((airline_bundle / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(saved["accuracy"], abs=1e-9)
    assert (
        run(
            [
                "predict",
                str(airline_bundle),
                "@united lost my bag and nobody answers the phone",
                "--json",
            ]
        )
        == 0
    )
    prediction = json.loads(capsys.readouterr().out)[0]
    assert prediction["label"] == "negative"
