"""Streaming a generate answer: pieces that join into the answer generate gives, the same
settings and stop strings, clear errors before any generation, and a generation that stops
as soon as its reader goes away."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from bizlm.bundle_info import BundleInfo
from bizlm.errors import BizlmError, DataError
from bizlm.tasks.generate_predictor import CausalLM, GeneratePredictor
from bizlm.tasks.generate_streaming import answer_text, settled_text
from tests.tasks.test_generate_data import assistant, user

LONG = 200  # tokens: a generation long enough to be cut short


@pytest.fixture(scope="module")
def predictor(tiny_chat_model_dir: Path) -> GeneratePredictor:
    """The untrained tiny chat model: it writes long, odd text (partial UTF-8 bytes too)."""
    return GeneratePredictor(
        CausalLM.from_pretrained(tiny_chat_model_dir),
        AutoTokenizer.from_pretrained(tiny_chat_model_dir),
        [],
        info=BundleInfo(labels=[], recipe={"decoding": {"max_new_tokens": 24}}),
    )


@pytest.fixture()
def forward_calls(predictor: GeneratePredictor):
    """A list that grows by one at every forward pass of the model."""
    calls: list[int] = []
    handle = predictor.model.register_forward_hook(lambda *_: calls.append(1))
    yield calls
    handle.remove()


@pytest.mark.parametrize("prompt", ["what", "say hello to anna", "你好 请问 退款"])
def test_pieces_join_into_the_generated_answer(predictor: GeneratePredictor, prompt: str) -> None:
    pieces = list(predictor.stream(prompt))
    assert len(pieces) > 1 and all(pieces)
    assert "".join(pieces) == predictor.generate([prompt])[0]
    longer = list(predictor.stream(prompt, max_new_tokens=60))
    assert "".join(longer) == predictor.generate([prompt], max_new_tokens=60)[0]


def test_a_conversation_streams_the_chat_answer(predictor: GeneratePredictor) -> None:
    conversation = [user("say hello to anna"), assistant("hello anna"), user("again")]
    assert "".join(predictor.stream(conversation)) == predictor.chat([conversation])[0]


def test_stop_strings_cut_the_stream_as_they_cut_the_answer(predictor: GeneratePredictor) -> None:
    free = predictor.generate(["what"], max_new_tokens=40)[0]
    stop = free[len(free) // 2 :][:3]
    cut = "".join(predictor.stream("what", max_new_tokens=40, stop=[stop]))
    assert cut == predictor.generate(["what"], max_new_tokens=40, stop=[stop])[0]
    assert cut == free[: free.index(stop)].strip() and stop not in cut


def test_text_that_may_still_change_is_held_back() -> None:
    assert settled_text("  hello wor", ["world"]) == "hello"  # 'wor' may begin 'world'
    assert settled_text("hello anna \n", []) == "hello anna"  # the answer is stripped
    assert settled_text("你好\ufffd", []) == "你好"  # the rest of a character is coming
    assert answer_text("hello world and more", ["world"]) == "hello"


def test_bad_input_is_refused_before_any_generation(
    predictor: GeneratePredictor, forward_calls: list[int]
) -> None:
    with pytest.raises(BizlmError, match=r"'max_tokens'\. Did you mean 'max_new_tokens'"):
        predictor.stream("what", max_tokens=3)
    with pytest.raises(BizlmError, match="temperature applies only with do_sample"):
        predictor.stream("what", temperature=0.5)
    with pytest.raises(DataError, match="The conversation: the conversation ends on assistant"):
        predictor.stream([user("hi"), assistant("ho")])
    with pytest.raises(DataError, match="messages\\[0\\] \\(user\\) is empty"):
        predictor.stream("  ")
    with pytest.raises(DataError, match="The prompt is a dict, not a text or a list of messages"):
        predictor.stream({"role": "user", "content": "hi"})  # type: ignore[arg-type]
    assert not forward_calls


def test_closing_the_stream_stops_the_generation(
    predictor: GeneratePredictor, forward_calls: list[int]
) -> None:
    assert len(list(predictor.stream("what", max_new_tokens=LONG))) > 1
    assert len(forward_calls) == LONG  # left alone, the generation runs its course
    forward_calls.clear()
    pieces = predictor.stream("what", max_new_tokens=LONG)
    next(pieces)
    pieces.close()
    assert len(forward_calls) < LONG / 2


def test_an_abandoned_stream_stops_the_generation(
    predictor: GeneratePredictor, forward_calls: list[int]
) -> None:
    for _ in predictor.stream("what", max_new_tokens=LONG):
        break  # the reader leaves; the dropped iterator is closed
    gc.collect()
    assert len(forward_calls) < LONG / 2


def test_a_failed_generation_is_raised_to_the_reader(
    predictor: GeneratePredictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**inputs: object) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(predictor.model, "forward", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        list(predictor.stream("what"))
