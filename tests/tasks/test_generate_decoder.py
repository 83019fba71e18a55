"""Batched decoding: answers written together, joining and leaving between steps, get the
tokens each gets when generated alone; finished and cancelled answers leave the batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

from bizlm.sections.decoding import DecodingConfig
from bizlm.tasks.generate_decoder import Answer, BatchDecoder, choose_token
from bizlm.tasks.generate_predictor import CausalLM

PROMPTS = ["what", "say hello to anna please", "你好 请问 退款 多久 到账", "hi"]


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def model_and_tokenizer(request: pytest.FixtureRequest, tiny_chat_model_dir: Path):
    """The tiny chat Llama (rotary positions), or a tiny GPT-2 (learned absolute positions,
    which left padding must not shift) with the same tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    if request.param == "llama":
        return CausalLM.from_pretrained(tiny_chat_model_dir).eval(), tokenizer
    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=len(tokenizer), n_positions=128)
    return GPT2LMHeadModel(config).eval(), tokenizer


def prompt_ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def alone(model, ids: list[int], new_tokens: int) -> list[int]:
    """Greedy tokens of ``transformers``' own generate on one unpadded prompt."""
    output = model.generate(
        input_ids=torch.tensor([ids]),
        attention_mask=torch.ones(1, len(ids), dtype=torch.long),
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=False,
        pad_token_id=0,
    )
    return output[0, len(ids) :].tolist()


def greedy(tokenizer, text: str, new_tokens: int) -> Answer:
    return Answer(prompt_ids(tokenizer, text), DecodingConfig(max_new_tokens=new_tokens))


def test_answers_joining_mid_flight_get_the_tokens_they_get_alone(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    rows: list[int] = []
    decoder = BatchDecoder(model, tokenizer, [], max_rows=8, on_step=rows.append)
    first = [greedy(tokenizer, text, 12) for text in PROMPTS[:2]]
    later = [greedy(tokenizer, text, n) for text, n in zip(PROMPTS[2:], (5, 20), strict=True)]
    decoder.submit(first)
    for _ in range(4):
        decoder.advance()
    decoder.submit(later)  # joins the two answers already four tokens in
    while decoder.busy:
        decoder.advance()
    for answer in first + later:
        assert answer.finished and answer.reason == "length"
        expected = alone(model, answer.prompt, answer.settings.max_new_tokens)
        assert answer.tokens == expected
        assert answer.final == tokenizer.decode(expected, skip_special_tokens=True).strip()
        assert answer.text == answer.final
    assert max(rows) == 4  # all four were decoded in one batch
    assert rows[-1] == 1  # the 20-token answer ran on alone once the others had left


def test_a_finished_answer_frees_its_row_for_a_waiting_one(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    rows: list[int] = []
    decoder = BatchDecoder(model, tokenizer, [], max_rows=2, on_step=rows.append)
    short, long, waiting = (
        greedy(tokenizer, t, n) for t, n in zip(PROMPTS[:3], (2, 10, 6), strict=True)
    )
    decoder.submit([short, long, waiting])
    decoder.advance()  # reads the first two prompts
    assert decoder.rows == [short, long] and list(decoder.waiting) == [waiting]
    decoder.advance()  # the short answer's second token ends it
    assert short.finished and decoder.rows == [long]
    decoder.advance()  # the waiting answer takes its place
    assert decoder.rows == [long, waiting]
    decoder.run([])
    assert max(rows) == 2
    for answer in (short, long, waiting):
        assert answer.tokens == alone(model, answer.prompt, answer.settings.max_new_tokens)


def test_a_cancelled_answer_leaves_before_the_next_step(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    rows: list[int] = []
    decoder = BatchDecoder(model, tokenizer, [], on_step=rows.append)
    kept, cancelled, never_started = (greedy(tokenizer, text, 8) for text in PROMPTS[:3])
    decoder.submit([kept, cancelled])
    decoder.advance()
    cancelled.cancel()
    decoder.submit([never_started])
    never_started.cancel()
    decoder.run([])
    assert cancelled.reason == "cancelled" and len(cancelled.tokens) == 1
    assert never_started.tokens == [] and rows[1:] == [1] * 7
    assert kept.tokens == alone(model, kept.prompt, 8)


def test_end_tokens_and_stop_strings_end_an_answer(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    free = greedy(tokenizer, "what", 8)
    BatchDecoder(model, tokenizer, []).run([free])
    cut = max(i for i, token in enumerate(free.tokens) if token not in free.tokens[:i])
    ended = greedy(tokenizer, "what", 8)
    BatchDecoder(model, tokenizer, [free.tokens[cut]]).run([ended])
    assert ended.reason == "stop" and ended.tokens == free.tokens[:cut]
    whole = free.final
    stop = whole[len(whole) // 2 :][:2]
    stopped = Answer(prompt_ids(tokenizer, "what"), DecodingConfig(max_new_tokens=8), [stop])
    BatchDecoder(model, tokenizer, []).run([stopped])
    assert stopped.reason == "stop" and stopped.final == whole[: whole.index(stop)].strip()


def test_sampling_keeps_to_top_p() -> None:
    logits = torch.tensor([0.0, 5.0, 4.9, -3.0])
    settings = DecodingConfig(do_sample=True, top_p=0.01)
    assert {choose_token(logits, settings, None) for _ in range(20)} == {1}
    wide = DecodingConfig(do_sample=True, temperature=5.0)
    torch.manual_seed(0)
    assert len({choose_token(logits, wide, None) for _ in range(200)}) == 4
    assert choose_token(logits, DecodingConfig(), None) == 1
