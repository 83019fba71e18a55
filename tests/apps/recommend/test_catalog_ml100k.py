"""The ml-100k catalog entry, read from a tiny fake recbole wheel (no network, no real data)."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from bizlm.apps.recommend.config import load_recommend_recipe
from bizlm.apps.recommend.interactions import read_interactions
from bizlm.apps.recommend.setup import init_application
from bizlm.cli import run
from bizlm.errors import CatalogError, DataError

MEMBER = "recbole/dataset_example/ml-100k/ml-100k"
INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t1\t5\t881250950\n"
)
ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "1\tToy Story\t1995\tAnimation Children's Comedy\n242\tKolya\t1996\tComedy\n"
    "302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller\n"
)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bizlm home whose downloads folder holds a fake recbole wheel."""
    home = tmp_path / "home"
    monkeypatch.setenv("BIZLM_HOME", str(home))
    (home / "downloads").mkdir(parents=True)
    with zipfile.ZipFile(home / "downloads" / "recbole-1.2.1-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{MEMBER}.inter", INTER)
        wheel.writestr(f"{MEMBER}.item", ITEM)
    return home


def test_init_from_catalog_writes_data_recipe_and_licence(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "app"
    init_application(folder, catalog_name="ml-100k")
    with open(folder / "data" / "items.csv", encoding="utf-8") as handle:
        items = list(csv.DictReader(handle))
    assert items[0] == {
        "item": "1",
        "title": "Toy Story",
        "year": "1995",
        "genres": "Animation Children's Comedy",
    }
    assert "no commercial use" in (folder / "data" / "LICENCE.txt").read_text()
    data = read_interactions(load_recommend_recipe(folder).data)
    assert data.report["events"] == 3
    assert data.item_texts[data.item_index()["1"]] == "Toy Story. Animation Children's Comedy. 1995"


def test_data_info_shows_the_licence(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert run(["data", "info", "ml-100k"]) == 0
    shown = capsys.readouterr().out
    assert "recbole" in shown and "GroupLens" in shown and "no commercial use" in shown


def test_data_get_points_to_the_recommender(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert run(["data", "get", "ml-100k"]) == 2
    assert "bizlm app recommend init DIR --catalog ml-100k" in capsys.readouterr().err


def test_text_dataset_is_not_an_interaction_set(home: Path, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="labelled texts, not interactions"):
        init_application(tmp_path / "app", catalog_name="trec")


def test_init_needs_one_data_source(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--catalog NAME or both --interactions"):
        init_application(tmp_path / "app")
