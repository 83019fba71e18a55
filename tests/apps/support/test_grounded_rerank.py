"""Re-ranking retrieved passages with a score bundle trained on (message, passage) pairs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import bizlm
from bizlm.apps.support.agent import SupportAgent
from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.answerer import GroundedAnswerer
from bizlm.apps.support.grounded.rerank import Reranker, load_reranker
from bizlm.apps.support.grounded.settings import KnowledgeSettings
from bizlm.apps.support.knowledge.passages import Passage
from bizlm.apps.support.knowledge.search import KnowledgeHit
from tests.apps.support.test_grounded_agent import (  # noqa: F401  (fixtures)
    configure,
    desk,
    generate_bundle,
    tiny_generator_dir,
)
from tests.apps.support.test_grounded_answerer import (
    StubGenerator,
    StubKnowledgeBase,
    save_generate_bundle,
)
from tests.apps.support.test_grounded_checks import HOURS, REFUNDS
from tests.conftest import WORDS, write_csv
from tests.tasks.test_multilabel_and_score import recipe, scored_rows

SETTINGS_FILE = Path("desk/support.yaml")


class StubScorer:
    """Scores a pair by a fixed relevance per passage text; keeps the pairs it was given."""

    def __init__(self, relevance: dict[str, float]) -> None:
        self.relevance = relevance
        self.pairs: list[tuple[str, str]] = []

    def predict_proba(self, texts: list[str], pairs: list[str]) -> np.ndarray:
        self.pairs += list(zip(texts, pairs, strict=True))
        return np.array([[self.relevance[p.split("\n")[-1]]] for p in pairs])


def passage(text: str, number: int) -> Passage:
    return Passage(f"p{number}", "faq.md", "", text, 0, len(text))


def test_the_reranker_keeps_the_best_k_by_relevance_with_their_similarities() -> None:
    texts = ["first found", "second found", "third found"]
    hits = [KnowledgeHit(passage(t, i), 1 - i / 10, 0.9 - i / 10, 1.0) for i, t in enumerate(texts)]
    scorer = StubScorer({"first found": 0.1, "second found": 0.7, "third found": 0.9})
    ranked = Reranker(scorer, candidates=3).rerank("my question", hits, 2)
    assert [h.passage.text for h in ranked] == ["third found", "second found"]
    assert [h.score for h in ranked] == [0.9, 0.7] and ranked[0].similarity == hits[2].similarity
    assert scorer.pairs[0] == ("my question", "first found")
    assert Reranker(scorer, candidates=3).rerank("q", [], 2) == []


def test_the_answerer_asks_the_reranker_to_order_more_candidates() -> None:
    knowledge = StubKnowledgeBase([HOURS, REFUNDS], [0.8, 0.7])
    scorer = StubScorer({HOURS.text: 0.0, REFUNDS.text: 5.0})
    settings = KnowledgeSettings(top_k=1, rerank_candidates=2)
    grounded = GroundedAnswerer(
        knowledge, StubGenerator("x"), settings, Reranker(scorer, settings.rerank_candidates)
    )
    assert [h.passage for h in grounded.retrieve("refund?")] == [REFUNDS]
    assert len(scorer.pairs) == 2


@pytest.fixture(scope="module")
def pair_scorer(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny score bundle trained to rate an item by the words it shares with the query."""
    folder = tmp_path_factory.mktemp("scorer")
    train = write_csv(folder / "pairs.csv", scored_rows(300, seed=4))
    task = {"type": "score", "text_pair_column": "item", "label_column": "relevance"}
    return bizlm.train(recipe(tiny_model_dir, train, folder / "bundle", task)).bundle


def test_a_trained_pair_scorer_puts_the_passage_that_shares_words_first(
    pair_scorer: Path,
) -> None:
    reranker = load_reranker(pair_scorer, SETTINGS_FILE, candidates=5)
    query = f"{WORDS['positive'][0]} {WORDS['positive'][1]}"
    near, far = passage(query, 1), passage(" ".join(WORDS["neutral"][:2]), 2)
    hits = [KnowledgeHit(far, 1.0, 0.5, 1.0), KnowledgeHit(near, 0.9, 0.5, 1.0)]
    assert [h.passage for h in reranker.rerank(query, hits, 2)] == [near, far]


def test_other_bundles_are_refused_as_rerankers(tiny_model_dir: Path, tmp_path: Path) -> None:
    classify = save_generate_bundle(tiny_model_dir, tmp_path / "classify", task="classify")
    single = save_generate_bundle(tiny_model_dir, tmp_path / "single", task="score")
    cases = [
        (classify, "is a classify bundle, not a score bundle"),
        (single, "scores single texts; a re-ranker reads \\(message, passage\\) pairs"),
        (tmp_path / "missing", "is not a bundle"),
    ]
    for folder, message in cases:
        with pytest.raises(SupportProjectError, match=message) as error:
            load_reranker(folder, SETTINGS_FILE, candidates=5)
        assert "desk/support.yaml: knowledge.rerank_bundle" in error.value.message
        assert "text_pair_column" in (error.value.hint or "")


def test_support_yaml_names_the_reranker_of_the_desk(
    desk: Path,  # noqa: F811
    pair_scorer: Path,
    tmp_path: Path,
) -> None:
    root = tmp_path / "desk"
    shutil.copytree(desk, root)
    settings = yaml.safe_load((root / "support.yaml").read_text(encoding="utf-8"))
    configure(root, {**settings["knowledge"], "rerank_bundle": str(pair_scorer)})
    agent = SupportAgent(root)
    assert agent.grounded is not None and agent.grounded.reranker is not None
    [hit] = agent.grounded.retrieve("when do refunds reach my card")
    assert hit.passage.file == "billing.md"
    configure(root, {**settings["knowledge"], "rerank_bundle": "no-such-folder"})
    with pytest.raises(SupportProjectError, match=r"knowledge\.rerank_bundle"):
        SupportAgent(root)
