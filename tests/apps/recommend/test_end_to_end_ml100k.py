"""The real default model on MovieLens 100K (catalog ml-100k), sized to run in about a minute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bizlm.apps.recommend.layout import AppLayout
from bizlm.apps.recommend.setup import init_application
from bizlm.apps.recommend.training import train_application
from bizlm.progress import Reporter


@pytest.mark.slow
def test_ml100k_ranker_beats_chance_with_the_default_model(tmp_path: Path) -> None:
    recipe_path = init_application(tmp_path / "movies", catalog_name="ml-100k")
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["model"] = "default"
    recipe["sampling"].update(
        max_train_users=100,
        train_positives_per_user=1,
        negatives_per_positive=1,
        max_ranker_users=40,
        ranker_negatives=9,
        max_evaluation_users=40,
    )
    recipe["bi_encoder"].update(max_length=32, candidates=50)
    recipe["scorer"].update(max_length=48)
    recipe_path.write_text(yaml.safe_dump(recipe))

    report = train_application(tmp_path / "movies", Reporter())

    assert report["data"]["users"] == 943
    test = report["test"]
    assert test["users"] == 40
    # the held-out item ranked among 100 candidates: chance gives HR@10 = 0.1
    assert test["hr10"] >= 0.25, test
    assert test["auc"] >= 0.7, test
    assert json.loads(AppLayout(tmp_path / "movies").report.read_text())["test"] == test
