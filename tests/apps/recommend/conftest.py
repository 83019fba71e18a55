"""Tiny synthetic interactions: users keep to one word group, items are texts of that group."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from tests.conftest import WORDS, write_csv

GROUPS = ("positive", "negative", "neutral")


def make_items(per_group: int = 10) -> list[dict[str, str]]:
    """Items ``g<group>-<n>`` whose title is two words of their group."""
    rng = random.Random(3)
    items = []
    for group_index, group in enumerate(GROUPS):
        for number in range(per_group):
            title = " ".join(rng.sample(WORDS[group], 2))
            items.append({"item": f"g{group_index}-{number}", "title": title, "genre": group})
    return items


def make_events(users: int = 24, per_user: int = 8, per_group: int = 10) -> list[dict[str, str]]:
    """Each user picks items of one group, one a day."""
    rng = random.Random(5)
    events = []
    for user in range(users):
        group = user % len(GROUPS)
        chosen = rng.sample(range(per_group), per_user)
        for day, number in enumerate(chosen):
            events.append(
                {
                    "user": f"u{user}",
                    "item": f"g{group}-{number}",
                    "timestamp": str(1_700_000_000 + 86_400 * day + user),
                }
            )
    return events


@pytest.fixture()
def app_files(tmp_path: Path) -> tuple[Path, Path]:
    """(interactions.csv, items.csv) of the synthetic data."""
    items = write_csv(tmp_path / "items.csv", make_items())
    events = write_csv(tmp_path / "interactions.csv", make_events())
    return events, items


def shrink_recipe(recipe_path: Path, model: Path) -> None:
    """Make an application's recipe train the tiny model quickly."""
    recipe = yaml.safe_load(recipe_path.read_text())
    recipe["model"] = str(model)
    recipe["bi_encoder"].update(max_length=16, batch_size=8, learning_rate=1e-3, candidates=10)
    recipe["scorer"].update(max_length=32, batch_size=16, learning_rate=5e-3, epochs=2)
    recipe["sampling"].update(max_evaluation_users=10, evaluation_negatives=9)
    recipe["ranker"].update(collaborative_candidates=5, popular_candidates=5)
    recipe_path.write_text(yaml.safe_dump(recipe))


def tiny_app(folder: Path, model: Path, interactions: Path, items: Path) -> Path:
    """Create an application folder whose recipe trains the tiny model quickly."""
    from bizlm.apps.recommend.setup import init_application

    shrink_recipe(init_application(folder, interactions=interactions, items=items), model)
    return folder


@pytest.fixture(scope="module")
def trained_app(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An application trained on the synthetic data with the tiny model."""
    from bizlm.apps.recommend.training import train_application
    from bizlm.progress import Reporter

    base = tmp_path_factory.mktemp("recommend")
    items = write_csv(base / "items.csv", make_items())
    events = write_csv(base / "interactions.csv", make_events())
    folder = tiny_app(base / "app", tiny_model_dir, events, items)
    train_application(folder, Reporter())
    return folder
