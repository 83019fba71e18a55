"""Serve a ``generate`` bundle: prompts or conversations in, generated answers out.

Prompts are formatted with the bundle's chat template and answered together by a
:class:`~bizlm.tasks.generate_decoder.BatchDecoder` (left padding, the KV cache, answers
leaving the batch as they end). An answer ends at the end-of-sequence token, at the template's
end-of-turn marker, or before the first stop string; the decoding settings of the recipe apply
unless a call overrides them. ``stream`` yields one answer in pieces as it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_MASKED_LM_MAPPING_NAMES,
)

from bizlm.bundle_info import BundleInfo
from bizlm.data.conversations import Conversation, parse_messages, single_turn
from bizlm.errors import BizlmError, DataError, RecipeError
from bizlm.log import logger
from bizlm.predictor import Predictor, check_texts
from bizlm.sections.decoding import DecodingConfig
from bizlm.tasks.generate_decoder import Answer, BatchDecoder
from bizlm.tasks.generate_encoding import (
    encode_prompt,
    end_token_ids,
    install_chat_template,
    turn_end,
)
from bizlm.yaml_files import validate_mapping

DEFAULT_BATCH_SIZE = 16


def check_causal(location: str | Path) -> None:
    """Refuse a checkpoint that is not a causal (left-to-right) language model."""
    config = AutoConfig.from_pretrained(location)
    causal = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    if any(name in causal for name in config.architectures or []):
        return
    kind = config.model_type
    if (
        not config.is_encoder_decoder
        and kind in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and kind not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    ):
        return
    what = "an encoder-decoder" if config.is_encoder_decoder else "an encoder"
    raise RecipeError(
        f"Model '{location}' is {what} ({kind}), not a causal language model; task type "
        "generate trains a causal LM, which writes text left to right.",
        hint="Use a causal LM such as GPT-2, Llama, Qwen or SmolLM2 (model: smollm2), or a "
        "classify, tag or score task for this model.",
    )


class CausalLM:
    """``AutoModelForCausalLM`` in float32, after :func:`check_causal`."""

    @staticmethod
    def from_pretrained(location: str | Path, **options: Any) -> PreTrainedModel:
        """The causal LM at ``location`` (a folder or hub id)."""
        check_causal(location)
        return AutoModelForCausalLM.from_pretrained(location, **{"dtype": torch.float32, **options})


class GeneratePredictor(Predictor):
    """A causal LM that answers prompts and conversations."""

    auto_model = CausalLM

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        labels: Sequence[str],
        max_length: int = 128,
        info: BundleInfo | None = None,
    ) -> None:
        super().__init__(model, tokenizer, labels, max_length, info)
        install_chat_template(tokenizer, self.info.task_settings.get("chat_template"))
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        self.end_ids = end_token_ids(tokenizer)
        marker = turn_end(tokenizer)
        single = len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1
        #: the end-of-turn text to stop at when no single token marks it
        self.turn_end = marker if marker and not single else None

    @property
    def decoding(self) -> DecodingConfig:
        """The bundle's decoding settings (the recipe's ``decoding`` section)."""
        return DecodingConfig.model_validate(self.info.recipe.get("decoding") or {})

    def settings(self, overrides: dict[str, Any]) -> DecodingConfig:
        """The bundle's decoding settings with ``overrides`` (max_new_tokens, do_sample,
        temperature, top_p, stop) applied; a bad value is a clear error."""
        merged = {**self.decoding.model_dump(), **overrides}
        return validate_mapping(DecodingConfig, merged, "decoding settings", BizlmError)

    def generate(
        self, prompts: str | Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE, **overrides: Any
    ) -> list[str]:
        """The answer to each prompt (a user turn after the recipe's system message)."""
        prompts = check_texts([prompts] if isinstance(prompts, str) else prompts)
        return self.chat([single_turn(p, None, None) for p in prompts], batch_size, **overrides)

    def chat(
        self,
        conversations: Sequence[Conversation],
        batch_size: int = DEFAULT_BATCH_SIZE,
        **overrides: Any,
    ) -> list[str]:
        """The assistant's next turn in each conversation (messages ending on the user),
        written ``batch_size`` at a time; the longest prompts start first, and a finished
        answer's place goes to the next prompt at once."""
        settings = self.settings(overrides)
        encoded = self._encode(conversations, "Conversation {index}")
        answers = [self.answer(ids, settings) for ids in encoded]
        longest_first = sorted(answers, key=lambda answer: -len(answer.prompt))
        self.decoder(batch_size).run(longest_first)
        return [answer.final for answer in answers]

    def stream(self, prompt: str | list[dict], **overrides: Any) -> Iterator[str]:
        """Pieces of the answer to one prompt (a text, or a conversation ending on the user)
        as they are written; joined, they are the answer :meth:`generate` (or :meth:`chat`)
        gives with the same settings. Bad input or settings are refused here, before any
        generation; generation starts with the first piece read and stops once the iterator
        is closed or dropped."""
        return self._stream(self.answer(self.encode(prompt), self.settings(overrides)))

    def encode(self, prompt: str | list[dict]) -> list[int]:
        """Prompt token ids of a text (a user turn) or a conversation ending on the user,
        after the recipe's system message; a bad prompt is a clear error."""
        if isinstance(prompt, str):
            conversation = single_turn(prompt, None, None)
        elif isinstance(prompt, list):
            conversation = prompt
        else:
            raise DataError(
                f"The prompt is a {type(prompt).__name__}, not a text or a list of messages.",
                hint='Pass a text, or messages such as [{"role": "user", "content": "..."}].',
            )
        [ids] = self._encode([conversation], "The conversation")
        return ids

    def answer(self, prompt_ids: list[int], settings: DecodingConfig) -> Answer:
        """An answer to write for ``prompt_ids`` with ``settings`` (see :meth:`decoder`)."""
        stops = [*settings.stop, *([self.turn_end] if self.turn_end else [])]
        return Answer(prompt_ids, settings, stops)

    def decoder(
        self, max_rows: int = DEFAULT_BATCH_SIZE, on_step: Callable[[int], None] | None = None
    ) -> BatchDecoder:
        """A decoder that writes this model's answers, ``max_rows`` at a time."""
        return BatchDecoder(self.model, self.tokenizer, self.end_ids, max_rows, on_step)

    def _stream(self, answer: Answer) -> Iterator[str]:
        """Decode one answer, yielding its text as it grows; closing the iterator ends it."""
        decoder = self.decoder(1)
        decoder.submit([answer])
        try:
            while decoder.busy:
                decoder.advance()
                if piece := answer.new_text():
                    yield piece
        finally:
            answer.cancel()

    def predict(
        self,
        texts: str | Sequence[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        pairs: str | Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """``{"generated_text": answer}`` for each text (see :meth:`generate`)."""
        if pairs is not None:
            raise BizlmError("A generate model takes prompts, not text pairs.", hint="Drop pairs.")
        return [{"generated_text": answer} for answer in self.generate(texts, batch_size)]

    def logits(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Generators write text; they have no per-text scores (so no ``predict_proba``)."""
        raise BizlmError(
            "This bundle generates text; it has no per-text probabilities.",
            hint="Call generate(prompts), chat(conversations) or predict(texts).",
        )

    def _encode(self, conversations: Sequence[Any], where: str) -> list[list[int]]:
        """Prompt token ids of each conversation (checked, after the recipe's system message),
        keeping the last ``max_length``; ``where`` names one in errors (``{index}``: its
        position). Warns when prompts were cut."""
        system = self.info.task_settings.get("system")
        encoded = []
        for index, messages in enumerate(conversations):
            place = where.format(index=index)
            conversation = parse_messages(messages, place, answered=False)
            if system and conversation[0]["role"] != "system":
                conversation.insert(0, {"role": "system", "content": system})
            encoded.append(encode_prompt(self.tokenizer, conversation, self.max_length + 1))
        cut = sum(len(ids) > self.max_length for ids in encoded)
        if cut:
            logger.warning(
                f"{cut} of {len(encoded)} prompts are longer than max_length={self.max_length} "
                "tokens; their start was cut."
            )
        return [ids[-self.max_length :] for ids in encoded]
