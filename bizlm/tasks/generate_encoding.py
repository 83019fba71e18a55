"""Conversations to token ids with the tokenizer's chat template, for training and generation.

Training labels are the token ids of the assistant turns (their text and the template's
end-of-turn marker) and -100 everywhere else, so the loss is on the answers only. Where a
conversation is found in the rendered text comes from rendering it turn by turn: the text
before each answer is the conversation so far with the generation prompt, and the answer ends
where the conversation including it ends. A conversation longer than ``max_length`` tokens
keeps the end of its prompt (cut from the left) and, when the last answer alone is too long,
the start of that answer (cut at the end): both cuts are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from bizlm.batching import Features
from bizlm.data.conversations import Conversation
from bizlm.errors import RecipeError

IGNORED = -100  # the label of tokens the loss skips

#: the template given to a tokenizer that has none (ChatML, as Qwen and SmolLM2 use)
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_PROBE = "\u2063answer\u2063"  # an answer text no template changes, to find what follows it


@dataclass
class EncodedConversation:
    """Token ids and labels of one conversation, and whether it had to be cut."""

    features: Features
    prompt_cut: bool = False
    response_cut: bool = False


def install_chat_template(tokenizer: Any, template: str | None) -> bool:
    """Give ``tokenizer`` the recipe's ``template``, or the default one when it has none;
    True when the default was installed (the caller warns). The tokenizer is saved with it."""
    if template:
        tokenizer.chat_template = template
    elif not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
        return True
    return False


def render(tokenizer: Any, conversation: Conversation, generation_prompt: bool) -> str:
    """The conversation as the chat template writes it (with the assistant's cue, when
    ``generation_prompt``)."""
    try:
        return tokenizer.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=generation_prompt
        )
    except (TemplateError, TypeError, ValueError) as exc:
        raise RecipeError(
            f"The chat template cannot format the conversation {_preview(conversation)}: {exc}",
            hint="Fix task.chat_template, or leave it out to use the tokenizer's own template.",
        ) from None


def turn_end(tokenizer: Any) -> str:
    """The text the chat template writes after an answer (e.g. ``<|im_end|>``), stripped;
    empty when it writes nothing there."""
    text = render(
        tokenizer,
        [{"role": "user", "content": "?"}, {"role": "assistant", "content": _PROBE}],
        False,
    )
    return text.split(_PROBE, 1)[-1].strip()


def end_token_ids(tokenizer: Any) -> list[int]:
    """Token ids that end an answer: the end-of-sequence token and the template's
    end-of-turn marker when that is a single token."""
    ends = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    marker = turn_end(tokenizer)
    if marker:
        ids = tokenizer(marker, add_special_tokens=False)["input_ids"]
        if len(ids) == 1 and ids[0] not in ends:
            ends.append(ids[0])
    return ends


def encode_conversation(
    tokenizer: Any, conversation: Conversation, max_length: int, close_with_eos: bool
) -> EncodedConversation:
    """Input ids, attention mask and labels (assistant tokens only) of an answered
    conversation, at most ``max_length`` tokens. ``close_with_eos`` ends it with the
    end-of-sequence token, learned too (for templates that mark no end of turn)."""
    text = render(tokenizer, conversation, False)
    spans = [
        _answer_span(tokenizer, conversation, i, text)
        for i, message in enumerate(conversation)
        if message["role"] == "assistant"
    ]
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [
        token if any(start <= begin < end for start, end in spans) else IGNORED
        for token, (begin, _) in zip(ids, encoded["offset_mapping"], strict=True)
    ]
    if close_with_eos and tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
        labels.append(tokenizer.eos_token_id)
    last = next(
        (j for j, (begin, _) in enumerate(encoded["offset_mapping"]) if begin >= spans[-1][0]),
        len(encoded["offset_mapping"]),
    )
    return _fit(ids, labels, last, max_length)


def _answer_span(tokenizer: Any, conversation: Conversation, index: int, text: str) -> tuple:
    """Character span of assistant turn ``index`` (its text and end marker) in ``text``."""
    before = render(tokenizer, conversation[:index], True)
    through = render(tokenizer, conversation[: index + 1], False).rstrip()
    if not (text.startswith(before) and text.startswith(through)) or len(through) <= len(before):
        raise RecipeError(
            "The chat template does not write a conversation turn by turn (the text before an "
            "answer changes once the answer follows), so the answers cannot be found in it.",
            hint="Set task.chat_template to a template that writes each turn as it comes "
            "(for example ChatML).",
        )
    return len(before), len(through)


def _fit(ids: list[int], labels: list[int], answer: int, max_length: int) -> EncodedConversation:
    """Cut to ``max_length`` tokens: the prompt (before token ``answer``) from the left, and
    the last answer at its end when it alone leaves too little room for the prompt."""
    prompt_cut = response_cut = False
    if len(ids) > max_length:
        tail = len(ids) - answer
        keep_prompt = max(max_length - tail, min(answer, max_length // 2))
        keep_tail = max_length - keep_prompt
        prompt_cut, response_cut = keep_prompt < answer, keep_tail < tail
        window = slice(answer - keep_prompt, answer + keep_tail)
        ids, labels = ids[window], labels[window]
    features = {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}
    return EncodedConversation(features, prompt_cut, response_cut)


def encode_prompt(tokenizer: Any, conversation: Conversation, max_length: int) -> list[int]:
    """Token ids of a conversation to answer, with the assistant's cue, keeping its last
    ``max_length`` tokens."""
    text = render(tokenizer, conversation, True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return list(ids[-max_length:])


def _preview(conversation: Conversation) -> str:
    text = " | ".join(f"{m['role']}: {m['content']}" for m in conversation)
    return repr(text if len(text) <= 80 else text[:79] + "\u2026")
