"""Names and addresses masked with a tag bundle: mapped entity types become [NAME]/[ADDRESS]."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bizlm
from bizlm.cli import run
from bizlm.errors import BundleError
from bizlm.pii import NameMasker, PiiMatch, mask, use_name_masker
from bizlm.pii.names import entity_kind
from tests.tasks.conftest import PEOPLE, PLACES, tag_config


@pytest.fixture(scope="module")
def tagger(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("names")
    return Path(bizlm.train(tag_config(tiny_model_dir, folder, sentences=100, epochs=3)).bundle)


@pytest.fixture()
def default_masker():
    yield use_name_masker
    use_name_masker(None)


def test_person_and_place_entities_become_name_and_address(tagger: Path) -> None:
    masker = NameMasker.load(tagger)
    text = f"the {PEOPLE[0]} was very {PLACES[0]} and {PEOPLE[1]} {PLACES[1]}"
    [result] = masker.predictor.predict([text])
    entities = sorted(result["entities"], key=lambda e: e["start"])
    assert {e["type"] for e in entities} == {"PER", "LOC"}  # what the tagger says is masked
    expected, cursor = "", 0
    for entity in entities:
        tag = "[NAME]" if entity["type"] == "PER" else "[ADDRESS]"
        expected += text[cursor : entity["start"]] + tag
        cursor = entity["end"]
    expected += text[cursor:]
    assert mask(text, names=masker) == expected


def test_the_installed_masker_applies_to_every_mask_call(tagger: Path, default_masker) -> None:
    text = f"the {PEOPLE[0]} was very {PLACES[0]}"
    default_masker(NameMasker.load(tagger))
    masked = mask(text)
    assert "[NAME]" in masked and PEOPLE[0] not in masked
    default_masker(None)
    assert mask(text) == text


class _Entities:
    """A predictor stand-in that returns fixed entities (the type mapping is under test)."""

    def __init__(self, entities: list[dict]) -> None:
        self.entities = entities

    def predict(self, texts: list[str]) -> list[dict]:
        return [{"entities": self.entities} for _ in texts]


def test_catalog_entity_types_map_to_name_address_or_nothing() -> None:
    assert [entity_kind(t) for t in ("PER", "person", "LOC", "geo-loc", "facility")] == [
        "name",
        "name",
        "address",
        "address",
        "address",
    ]
    assert entity_kind("ORG") is None and entity_kind("company") is None
    text = "张三住在北京，在微软工作"
    masker = NameMasker(
        _Entities(
            [
                {"type": "PER", "start": 0, "end": 2},
                {"type": "LOC", "start": 4, "end": 6},
                {"type": "ORG", "start": 8, "end": 10},
            ]
        )
    )
    assert masker.find(text)[0] == PiiMatch("name", 0, 2, "张三")
    assert mask(text, names=masker) == "[NAME]住在[ADDRESS]，在微软工作"


def test_structured_matches_win_over_overlapping_entities() -> None:
    masker = NameMasker(_Entities([{"type": "LOC", "start": 2, "end": 8}]))
    assert mask("电话13912345678", names=masker) == "电话[PHONE]"


def _bundle_info_only(folder: Path, info: dict) -> Path:
    """A folder that reads as a bundle with ``info`` (its model is never loaded)."""
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}")
    (folder / "bizlm.json").write_text(json.dumps(info))
    return folder


def test_a_classifier_or_missing_bundle_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        NameMasker.load(tmp_path / "nowhere")
    classifier = _bundle_info_only(tmp_path / "classifier", {"task": "classify", "labels": ["a"]})
    with pytest.raises(BundleError, match=r"needs a tag \(named-entity\) bundle"):
        NameMasker.load(classifier)
    info = {"task": "tag", "labels": ["O", "B-ORG", "I-ORG"]}
    with pytest.raises(BundleError, match="no person or place entities"):
        NameMasker.load(_bundle_info_only(tmp_path / "orgs", info))


def test_serve_mask_names_with_a_bad_bundle_exits_2(tmp_path: Path, capsys) -> None:
    classifier = _bundle_info_only(tmp_path / "classifier", {"task": "classify", "labels": ["a"]})
    registry = f"sqlite:///{tmp_path / 'r.db'}"
    for bad in (tmp_path / "nowhere", classifier):
        assert (
            run(["serve", "--registry", registry, "--mask-names", str(bad), str(classifier)]) == 2
        )
    assert "--mask-names needs a tag" in capsys.readouterr().err


def test_serve_mask_names_installs_the_tagger(
    tagger: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, default_masker
) -> None:
    import uvicorn

    from bizlm.pii import core

    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    assert run(["serve", "--no-auth", "--mask-names", str(tagger), str(tagger)]) == 0
    assert isinstance(core._default_names, NameMasker)


@pytest.mark.parametrize(("recipe", "catalog"), [("names-en", "wnut16"), ("names-zh", "msra-ner")])
def test_the_shipped_name_recipes_load_as_tag_recipes(recipe, catalog):
    from bizlm.recipe import load_recipe

    folder = Path(__file__).resolve().parents[2] / "recipes"
    loaded = load_recipe(folder / f"{recipe}.yaml")
    assert loaded.task.type == "tag"
    assert loaded.data.catalog == catalog
