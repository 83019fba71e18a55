"""The grounded answerer's decisions with a stand-in generator, the tiny random generate bundle
end to end, and the generate bundles support.yaml may (not) name."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bizlm.apps.support.errors import SupportProjectError
from bizlm.apps.support.grounded.answerer import (
    EMPTY_REPLY,
    NO_ANSWER_REASON,
    UNSUPPORTED,
    WEAK_RETRIEVAL,
    GroundedAnswerer,
)
from bizlm.apps.support.grounded.loader import load_generator
from bizlm.apps.support.grounded.prompt import NO_ANSWER, SYSTEM_PROMPT
from bizlm.apps.support.grounded.settings import KnowledgeSettings
from bizlm.apps.support.knowledge.passages import Passage
from bizlm.apps.support.knowledge.search import KnowledgeHit
from bizlm.bundle import write_bundle
from bizlm.bundle_info import BundleInfo
from tests.apps.support.test_grounded_checks import HOURS, REFUNDS
from tests.prompting.conftest import tiny_generator_dir  # noqa: F401  (a fixture)

SUPPORTED = "Refunds reach your card within five working days [1]. We open at nine [2]."


class StubGenerator:
    """Writes a fixed reply three characters at a time; keeps what it was asked and how much
    of the reply was read before the writing stopped."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[list[dict[str, str]], dict[str, Any]]] = []
        self.written = 0

    def stream(self, messages: list[dict[str, str]], **overrides: Any) -> Iterator[str]:
        self.calls.append((messages, overrides))
        for start in range(0, len(self.reply), 3):
            self.written = start + 3
            yield self.reply[start : start + 3]


class StubKnowledgeBase:
    """Finds the given passages, in order, with the given similarities."""

    def __init__(self, passages: list[Passage], similarities: list[float]) -> None:
        pairs = zip(passages, similarities, strict=True)
        self.hits = [KnowledgeHit(passage, s, s, 1.0) for passage, s in pairs]
        self.passages = passages

    def search(self, query: str, k: int = 5) -> list[KnowledgeHit]:
        return self.hits[:k]


def answerer(reply: str, similarities: tuple[float, ...] = (0.8, 0.6)) -> GroundedAnswerer:
    """An answerer over the refunds and hours passages that always writes ``reply``."""
    knowledge = StubKnowledgeBase([REFUNDS, HOURS][: len(similarities)], list(similarities))
    return GroundedAnswerer(knowledge, StubGenerator(reply), KnowledgeSettings(max_new_tokens=40))


def test_a_supported_reply_comes_with_its_citations() -> None:
    grounded = answerer(SUPPORTED)
    reply = grounded.answer("When do I get my refund?")
    assert reply.handoff_reason is None and reply.supported
    assert reply.text == SUPPORTED
    assert [s.score for s in reply.sentences] == [1.0, 1.0]
    assert [c.passage for c in reply.citations] == [REFUNDS, HOURS]
    assert reply.sources()[0]["link"] == f"/v1/support/sources/{REFUNDS.id}"
    [(messages, overrides)] = grounded.generator.calls
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert REFUNDS.text in messages[1]["content"] and overrides == {"max_new_tokens": 40}


@pytest.mark.parametrize("similarities", [(0.1, 0.05), ()])
def test_weak_retrieval_hands_off_without_generating(similarities: tuple[float, ...]) -> None:
    grounded = answerer(SUPPORTED, similarities)
    reply = grounded.answer("Where is the moon?")
    assert reply.handoff_reason == WEAK_RETRIEVAL and not reply.supported
    assert grounded.generator.calls == []


def test_an_unsupported_sentence_hands_off_with_its_scores() -> None:
    reply = answerer("Refunds take five days [1]. Purple elephants deliver parcels.").answer("?")
    assert reply.handoff_reason == UNSUPPORTED and not reply.supported
    assert reply.sentences[0].score >= 0.5 and reply.sentences[1].score == 0.0


def test_a_citation_to_the_wrong_source_is_not_support() -> None:
    reply = answerer("Refunds reach your card within five working days [2].").answer("refund?")
    assert reply.handoff_reason == UNSUPPORTED


@pytest.mark.parametrize("written", ["", "  [1] [2]  ", "[9]."])
def test_a_reply_without_words_hands_off(written: str) -> None:
    assert answerer(written).answer("refund?").handoff_reason == EMPTY_REPLY


@pytest.mark.parametrize(
    "written",
    [NO_ANSWER, f" {NO_ANSWER.upper()} ", NO_ANSWER[:-1], f"{NO_ANSWER} Refunds take five [1]."],
)
def test_a_reply_that_says_the_sources_do_not_answer_hands_off(written: str) -> None:
    grounded = answerer(written)
    *given, reply = grounded.stream_from("Do you sell gift cards?", grounded.retrieve("gift"))
    assert given == [] and reply.handoff_reason == NO_ANSWER_REASON and not reply.supported
    assert reply.sentences == [] and reply.text.casefold() in NO_ANSWER.casefold()
    assert NO_ANSWER in SYSTEM_PROMPT  # the model is told to write exactly this sentence


def test_the_no_answer_sentence_after_an_answer_is_checked_like_any_sentence() -> None:
    reply = answerer(f"Refunds reach your card within five working days [1]. {NO_ANSWER}").answer(
        "refund?"
    )
    assert reply.handoff_reason == UNSUPPORTED and len(reply.sentences) == 2


def save_generate_bundle(model_dir: Path, folder: Path, task: str = "generate") -> Path:
    """A bundle of the model files in ``model_dir``, recorded as a ``task`` model."""
    info = BundleInfo(
        labels=[] if task == "generate" else ["a", "b"],
        recipe={
            "task": {"type": task},
            "train": {"max_length": 512},
            "decoding": {"max_new_tokens": 12},
        },
    )
    return write_bundle(folder, info, lambda staging: shutil.copytree(model_dir, staging / "model"))


@pytest.fixture(scope="module")
def generate_bundle(tiny_generator_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The tiny random Llama as a generate bundle."""
    return save_generate_bundle(tiny_generator_dir, tmp_path_factory.mktemp("gen") / "bundle")


def test_the_tiny_generate_bundle_loads_and_answers(generate_bundle: Path) -> None:
    generator = load_generator(generate_bundle, Path("desk/support.yaml"))
    settings = KnowledgeSettings(support_threshold=0.0, max_new_tokens=6)
    knowledge = StubKnowledgeBase([REFUNDS, HOURS], [0.9, 0.5])
    reply = GroundedAnswerer(knowledge, generator, settings).answer("When is my refund?")
    assert reply.passages == [REFUNDS, HOURS]
    # random weights write random words: any reply with words passes a threshold of 0
    assert reply.handoff_reason in (None, EMPTY_REPLY)
    assert reply.supported == (reply.handoff_reason is None)


def test_other_folders_are_refused_as_generate_bundles(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    classify = save_generate_bundle(tiny_model_dir, tmp_path / "classify", task="classify")
    encoder = save_generate_bundle(tiny_model_dir, tmp_path / "encoder")
    settings_file = Path("desk/support.yaml")
    cases = [
        (classify, "is a classify bundle, not a generate bundle"),
        (tiny_model_dir, "is not a generate bundle"),
        (tmp_path / "missing", "is not a generate bundle"),
        (encoder, "cannot be loaded as a generator.*not a causal language model"),
    ]
    for folder, message in cases:
        with pytest.raises(SupportProjectError, match=message) as error:
            load_generator(folder, settings_file)
        assert "desk/support.yaml: knowledge.generate_bundle" in error.value.message
        assert "task: {type: generate}" in (error.value.hint or "")
