"""Weighted rank fusion of FAQ retrieval and the BM25 weight tuned on labelled queries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.faq_files import FaqEntry, FaqQuery, read_faq_queries
from bizlm.apps.support.fusion import BM25_WEIGHTS, gold_ranks, rank_metrics, tune_bm25_weight
from bizlm.apps.support.project import load_project
from bizlm.apps.support.retrieval import FaqIndex, rrf_scores
from bizlm.apps.support.training import choose_fusion
from bizlm.cli import run
from tests.apps.support.conftest import QUERIES, write_project

ENTRIES = [
    FaqEntry("alpha", "alpha", "first"),
    FaqEntry("beta", "beta", "second"),
    FaqEntry("gamma", "gamma", "third"),
]
# What the stand-in encoder below understands a text's last word to mean (one axis each).
# "synonym" means what alpha means, but shares no word with the alpha entry; beta's answer
# means something its question does not.
MEANINGS = {"alpha": 0, "first": 0, "synonym": 0, "beta": 1, "second": 3, "gamma": 2, "third": 2}
MISLEADING = FaqQuery("beta third synonym", "alpha")  # BM25 ranks alpha last


class KeywordEncoder:
    """A stand-in encoder: the unit vector of the meaning of a text's last word."""

    reference = "keyword-encoder"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 4))
        for row, text in enumerate(texts):
            vectors[row, MEANINGS[text.split()[-1]]] = 1.0
        return vectors


def test_weighted_fusion_follows_its_weights() -> None:
    first, second = np.array([0, 1, 2]), np.array([2, 1, 0])
    expected = [1 / 61 + 1 / 63, 2 / 62, 1 / 63 + 1 / 61]
    assert rrf_scores([first, second], k=60).tolist() == pytest.approx(expected)
    only_first = rrf_scores([first, second], k=60, weights=[1.0, 0.0])
    assert np.argsort(-only_first).tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        rrf_scores([first, second], k=60, weights=[1.0])


def test_tuning_drops_bm25_when_its_words_mislead() -> None:
    index = FaqIndex.build(ENTRIES, KeywordEncoder(), k=1)
    queries = [MISLEADING, FaqQuery("question gamma", "gamma")]
    assert gold_ranks(index, queries, "bm25", 1.0).tolist() == [3, 1]
    assert gold_ranks(index, queries, "embedding", 1.0).tolist() == [1, 1]
    tuned = tune_bm25_weight(index, queries)
    assert tuned["queries"] == 2 and set(tuned["mrr_by_weight"]) == set(BM25_WEIGHTS)
    # alpha fuses to 1/2 + w/4 against beta's 1/3 + w/2: first while w < 2/3
    assert tuned["mrr_by_weight"][1.0] == tuned["mrr_by_weight"][0.7] == 0.75
    assert tuned["bm25_weight"] == 0.5 and tuned["mrr_by_weight"][0.5] == 1.0
    index.bm25_weight = tuned["bm25_weight"]
    assert rank_metrics(gold_ranks(index, queries, "hybrid", index.bm25_weight))["mrr"] == 1.0


def test_tuning_keeps_plain_fusion_when_every_weight_does_as_well() -> None:
    index = FaqIndex.build(ENTRIES, KeywordEncoder(), k=60)
    tuned = tune_bm25_weight(index, [FaqQuery("question gamma", "gamma")])
    assert set(tuned["mrr_by_weight"].values()) == {1.0} and tuned["bm25_weight"] == 1.0


def test_rank_metrics() -> None:
    metrics = rank_metrics(np.array([1, 2, 10]))
    assert metrics == pytest.approx({"hit_at_1": 1 / 3, "hit_at_5": 2 / 3, "mrr": 1.6 / 3})


def test_saved_weight_is_used_unless_a_setting_overrides_it(tmp_path: Path) -> None:
    encoder = KeywordEncoder()
    FaqIndex.build(ENTRIES, encoder, k=60, bm25_weight=0.2).save(tmp_path)
    assert json.loads((tmp_path / "faq_index.json").read_text())["bm25_weight"] == 0.2
    assert FaqIndex.load(tmp_path, ENTRIES, encoder, 60).bm25_weight == 0.2
    assert FaqIndex.load(tmp_path, ENTRIES, encoder, 60, bm25_weight=0.7).bm25_weight == 0.7


def test_index_saved_without_answer_vectors_is_rebuilt(tmp_path: Path) -> None:
    encoder = KeywordEncoder()
    index = FaqIndex.build(ENTRIES, encoder, k=60)
    assert index.vectors.shape == (3, 2, 4)
    index.save(tmp_path)
    meta = json.loads((tmp_path / "faq_index.json").read_text())
    del meta["vectors"]  # as written before entries had a question-with-answer vector
    (tmp_path / "faq_index.json").write_text(json.dumps(meta))
    np.save(tmp_path / "faq_vectors.npy", np.zeros((3, 4)))
    assert FaqIndex.load(tmp_path, ENTRIES, encoder, 60).vectors.shape == (3, 2, 4)


def test_similarity_is_the_better_of_question_and_answer() -> None:
    index = FaqIndex.build(ENTRIES, KeywordEncoder(), k=60)
    scores = index.scores("what about second")  # the meaning of beta's answer only
    assert scores.similarity.tolist() == [0.0, 1.0, 0.0]
    assert index.search("what about second", top_k=1, mode="embedding")[0].entry.id == "beta"


def test_fusion_weight_comes_from_settings_then_queries_then_default(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    index = FaqIndex.build(
        [FaqEntry("bag", "bag gate ticket", "Bags"), FaqEntry("crew", "crew friendly", "Crew")],
        _WordEncoder(),
        k=60,
    )
    settings = {"faq": {"bm25_weight": 0.3}}
    root = write_project(tmp_path / "a", tiny_model_dir, **{"support.yaml": settings})
    assert choose_fusion(load_project(root), index) == {
        "bm25_weight": 0.3,
        "source": "support.yaml",
    }
    root = write_project(tmp_path / "b", tiny_model_dir)
    chosen = choose_fusion(load_project(root), index)
    assert chosen["source"] == "faq_queries.jsonl" and chosen["queries"] == len(QUERIES)
    root = write_project(tmp_path / "c", tiny_model_dir)
    (root / "faq_queries.jsonl").unlink()
    assert choose_fusion(load_project(root), index) == {"bm25_weight": 1.0, "source": "default"}


class _WordEncoder:
    """A stand-in encoder for free text: word hashes folded into 8 dimensions."""

    reference = "word-encoder"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 8))
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, sum(map(ord, word)) % 8] += 1.0
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "where is it", "faq_id": "nope"}', "line 2: faq_id 'nope' is not an id"),
        ('{"question": " ", "faq_id": "bag"}', "line 2: a query needs a non-empty 'question'"),
        ('{"question": "bag?"}', "line 2: a query needs"),
        ('["bag?", "bag"]', "line 2: a query needs"),
        ("not json", "line 2: not valid JSON"),
    ],
)
def test_bad_query_lines_are_named(
    tmp_path: Path, tiny_model_dir: Path, line: str, message: str
) -> None:
    root = write_project(tmp_path / "desk", tiny_model_dir)
    good = json.dumps(QUERIES[0])
    (root / "faq_queries.jsonl").write_text(f"{good}\n{line}\n")
    with pytest.raises(SupportProjectError, match=message):
        load_project(root)
    assert run(["app", "support", "train", str(root), "--quiet"]) == 2


def test_missing_query_file_means_no_queries(tmp_path: Path) -> None:
    assert read_faq_queries(tmp_path / "faq_queries.jsonl", ENTRIES) == []
