"""The tag task end to end on a tiny model: CoNLL in, entity spans with offsets out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import bizlm
from bizlm.cli import run
from bizlm.data.words import split_words
from bizlm.errors import BizlmError, DataError
from bizlm.tasks.tag_decoding import decode
from bizlm.tasks.tag_predictor import entities
from bizlm.tasks.tag_prior import WEIGHTS
from tests.tasks.conftest import PEOPLE, PLACES, entity_sentences, tag_config, write_conll


@pytest.fixture(scope="module")
def tagger(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tagger")
    result = bizlm.train(tag_config(tiny_model_dir, folder, sentences=300, epochs=12))
    return Path(result.bundle)


def test_training_learns_entities_and_records_entity_metrics(tagger: Path) -> None:
    info = json.loads((tagger / "bizlm.json").read_text())
    assert info["task"] == "tag"
    assert info["labels"] == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    metrics = info["metrics"]
    assert set(metrics["per_type"]) == {"LOC", "PER"}
    assert metrics["f1"] > 0.8, metrics  # the entity words are fully predictive
    assert (tagger / "report.html").read_text().count("PER") >= 1


def test_training_saves_a_tuned_tag_prior_that_the_loaded_tagger_uses(tagger: Path) -> None:
    info = json.loads((tagger / "bizlm.json").read_text())
    prior = info["calibration"]["tag_prior"]
    assert prior["weight"] in WEIGHTS
    assert set(prior["validation_f1_by_weight"]) == {str(w) for w in WEIGHTS}
    assert np.asarray(prior["transition"]).shape == (len(info["labels"]), len(info["labels"]))
    loaded = bizlm.load(tagger).tag_prior
    assert loaded is not None and loaded.weight == prior["weight"]


def test_predict_returns_typed_spans_with_character_offsets(tagger: Path) -> None:
    text = f"the  {PEOPLE[0]} was very {PLACES[0]}!"
    [result] = bizlm.load(tagger).predict([text])
    found = {(e["type"], e["text"]) for e in result["entities"]}
    assert found == {("PER", PEOPLE[0]), ("LOC", PLACES[0])}
    for entity in result["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
        assert 0 < entity["score"] <= 1


def test_long_sentences_are_windowed_so_no_entity_is_lost(tagger: Path) -> None:
    filler = " ".join(["the"] * 40)  # longer than max_length=32 on its own
    text = f"{PEOPLE[2]} {filler} {PLACES[1]}"
    [result] = bizlm.load(tagger).predict([text])
    types = [e["type"] for e in result["entities"]]
    assert types.count("LOC") == 1 and text.endswith(result["entities"][-1]["text"])


def test_evaluate_scores_a_tag_file(tagger: Path, tmp_path: Path) -> None:
    test_file = write_conll(tmp_path / "test.conll", entity_sentences(30, seed=9))
    metrics = bizlm.evaluate(tagger, test_file)
    assert metrics["n"] == 30 and metrics["f1"] > 0.8


def test_evaluate_refuses_an_entity_type_the_model_never_learnt(
    tagger: Path, tmp_path: Path
) -> None:
    test_file = tmp_path / "test.conll"
    test_file.write_text("the\tO\ngood\tB-ORG\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Entity type 'ORG'.*line 1"):
        bizlm.evaluate(tagger, test_file)


def test_cli_predict_prints_entities(tagger: Path, capsys) -> None:
    assert run(["predict", str(tagger), f"my {PEOPLE[3]} is {PLACES[2]}", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert {e["type"] for e in result["entities"]} >= {"PER", "LOC"}


def test_a_stray_inside_tag_is_refused_in_strict_mode(tag_recipe: dict, tmp_path: Path) -> None:
    bad = tmp_path / "bad.conll"
    bad.write_text("the\tO\ngood\tI-PER\n", encoding="utf-8")
    tag_recipe["data"]["train"] = str(bad)
    with pytest.raises(DataError, match="line 2"):
        bizlm.train(tag_recipe)


def test_early_stopping_metric_must_fit_the_task(tag_recipe: dict) -> None:
    tag_recipe["train"]["early_stopping_metric"] = "accuracy"
    with pytest.raises(bizlm.errors.RecipeError, match="does not apply to task 'tag'"):
        bizlm.train(tag_recipe)


def test_entities_join_words_into_spans_with_offsets() -> None:
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    text = "met Ada  Lovelace in London"
    words = split_words(text)
    chosen = [0, 1, 2, 0, 3]  # O, B-PER, I-PER, O, B-LOC
    probabilities = np.full((len(words), len(tags)), 0.05)
    probabilities[np.arange(len(words)), chosen] = 0.8
    found = entities(text, words, probabilities, tags)
    assert [(e["type"], e["text"], e["start"], e["end"]) for e in found] == [
        ("PER", "Ada  Lovelace", 4, 17),
        ("LOC", "London", 21, 27),
    ]
    assert found[0]["score"] == pytest.approx(0.8)


def test_a_stray_inside_tag_in_model_output_starts_an_entity() -> None:
    tags = ["O", "B-PER", "I-PER"]
    probabilities = np.eye(3)[[0, 2, 2]]
    assert decode(probabilities, tags) == ["O", "B-PER", "I-PER"]
    assert decode(np.zeros((0, 3)), tags) == []


def test_decoding_keeps_an_entity_whole_rather_than_retyping_a_word() -> None:
    tags = ["O", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    probabilities = np.array(
        [
            [0.05, 0.80, 0.05, 0.05, 0.05],  # B-ORG
            [0.05, 0.05, 0.40, 0.05, 0.45],  # I-LOC by a little: invalid after B-ORG
            [0.05, 0.05, 0.80, 0.05, 0.05],  # I-ORG
            [0.90, 0.02, 0.04, 0.02, 0.02],  # O
            [0.10, 0.05, 0.50, 0.30, 0.05],  # I-ORG after O is invalid: B-LOC is the best valid
        ]
    )
    assert decode(probabilities, tags) == ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC"]


def test_serving_and_export_refuse_a_tagger_clearly(tagger: Path) -> None:
    from bizlm.bundle import read_bundle_info
    from bizlm.compress.source import check_source
    from bizlm.serve.served import load_bundle

    with pytest.raises(BizlmError, match="tag model; serving supports single-label"):
        load_bundle(tagger)
    with pytest.raises(BizlmError, match="tag model; export, quantisation"):
        check_source(tagger, read_bundle_info(tagger), "none")
    with pytest.raises(BizlmError, match="no per-text probabilities"):
        bizlm.load(tagger).predict_proba(["the good"])
