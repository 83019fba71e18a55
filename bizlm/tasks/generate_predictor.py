"""Serve a ``generate`` bundle: prompts or conversations in, generated answers out.

Prompts are formatted with the bundle's chat template, batched by length (longest first) with
left padding, and answered by ``transformers``' ``generate`` with the KV cache. An answer ends
at the end-of-sequence token, at the template's end-of-turn marker, or before the first stop
string; the decoding settings of the recipe apply unless a call overrides them. ``stream``
yields one answer in pieces as it is written (``bizlm.tasks.generate_streaming``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel, StoppingCriteriaList
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_MASKED_LM_MAPPING_NAMES,
)

from bizlm.batching import length_sorted_batches
from bizlm.bundle_info import BundleInfo
from bizlm.data.conversations import Conversation, parse_messages, single_turn
from bizlm.errors import BizlmError, DataError, RecipeError
from bizlm.log import logger
from bizlm.predictor import Predictor, check_texts
from bizlm.sections.decoding import DecodingConfig
from bizlm.tasks.generate_encoding import (
    encode_prompt,
    end_token_ids,
    install_chat_template,
    turn_end,
)
from bizlm.tasks.generate_streaming import AnswerStreamer, StopFlag, answer_text
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
        """The assistant's next turn in each conversation (messages ending on the user)."""
        settings = self.settings(overrides)
        encoded = self._encode(conversations, "Conversation {index}")
        answers = [""] * len(encoded)
        lengths = [len(ids) for ids in encoded]
        for batch in length_sorted_batches(lengths, batch_size, self.call_overhead()):
            texts = self._generate_batch([encoded[i] for i in batch], settings)
            for index, text in zip(batch, texts, strict=True):
                answers[index] = text
        return answers

    def stream(self, prompt: str | list[dict], **overrides: Any) -> Iterator[str]:
        """Pieces of the answer to one prompt (a text, or a conversation ending on the user)
        as they are written; joined, they are the answer :meth:`generate` (or :meth:`chat`)
        gives with the same settings. Bad input or settings are refused here, before any
        generation; generation starts with the first piece read, in a background thread, and
        stops after the current token once the iterator is closed or dropped."""
        settings = self.settings(overrides)
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
        return self._stream(ids, settings)

    def _stream(self, ids: list[int], settings: DecodingConfig) -> Iterator[str]:
        """Run ``generate`` on one prompt in a thread and yield its answer's pieces; closing
        this generator sets the flag that stops the generation, and waits for the thread."""
        options, stops = self._options(settings)
        streamer = AnswerStreamer(self.tokenizer, self.end_ids, stops)
        closed = threading.Event()
        device = next(self.model.parameters()).device
        options.update(
            input_ids=torch.tensor([ids], device=device),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=device),
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([StopFlag(closed)]),
        )
        failure: list[Exception] = []
        thread = threading.Thread(
            target=self._generate_streaming,
            args=(options, streamer, failure),
            name="bizlm-generate-stream",
            daemon=True,
        )
        thread.start()
        try:
            yield from streamer
        finally:
            closed.set()
            thread.join()
        if failure:
            raise failure[0]

    def _generate_streaming(
        self, options: dict[str, Any], streamer: AnswerStreamer, failure: list[Exception]
    ) -> None:
        """``generate`` feeding ``streamer``; an error is kept for the reader, whose
        iteration it ends."""
        try:
            with torch.inference_mode():
                self.model.generate(**options)
        except Exception as exc:  # raised again in the reader's thread
            failure.append(exc)
            streamer.close()

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

    @torch.inference_mode()
    def _generate_batch(self, rows: list[list[int]], settings: DecodingConfig) -> list[str]:
        """Answers of one batch of prompt ids, padded on the left."""
        width = max(len(ids) for ids in rows)
        pad = self.pad_token_id
        device = next(self.model.parameters()).device
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in rows], device=device)
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in rows])
        options, stops = self._options(settings)
        output = self.model.generate(input_ids=input_ids, attention_mask=mask.to(device), **options)
        return [self._answer(row[width:].tolist(), stops) for row in output]

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

    def _options(self, settings: DecodingConfig) -> tuple[dict[str, Any], list[str]]:
        """``generate`` options for ``settings``, and the stop strings that end an answer."""
        options: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "do_sample": settings.do_sample,
            "pad_token_id": self.pad_token_id,
            "eos_token_id": self.end_ids or None,
        }
        if settings.do_sample:
            options.update(
                {k: getattr(settings, k) for k in ("temperature", "top_p") if getattr(settings, k)}
            )
        stops = [*settings.stop, *([self.turn_end] if self.turn_end else [])]
        if stops:
            options.update(stop_strings=stops, tokenizer=self.tokenizer)
        return options, stops

    def _answer(self, tokens: list[int], stops: list[str]) -> str:
        """The text of generated ``tokens`` up to the first end token or stop string."""
        end = next((i for i, token in enumerate(tokens) if token in self.end_ids), len(tokens))
        return answer_text(self.tokenizer.decode(tokens[:end], skip_special_tokens=True), stops)
