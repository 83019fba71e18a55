"""Zero-shot classification with a generative LM: the prompt template is filled with the text,
and each label scores the log-probability of its verbaliser as the model's answer.

Contextual calibration (Zhao et al., 2021): the label probabilities the model gives to
content-free inputs are its prior; dividing it out removes the bias towards some answers.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from bizlm.backbones import resolve_model
from bizlm.errors import RecipeError

CONTENT_FREE = ("N/A", "", "[MASK]")


class PromptScorer:
    """Scores every label's verbaliser after a filled prompt."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        template: str,
        verbalisers: Sequence[str],
        max_length: int,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.template = template
        self.verbalisers = list(verbalisers)
        self.max_length = max_length
        self.answer_ids = [
            tokenizer(v, add_special_tokens=False)["input_ids"] for v in self.verbalisers
        ]

    def fill(self, text: str) -> str:
        """The exact prompt the model reads for ``text`` (chat template applied if it has one)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) > self.max_length:
            text = self.tokenizer.decode(ids[: self.max_length])
        filled = self.template.replace("{labels}", ", ".join(self.verbalisers))
        filled = filled.replace("{text}", text)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": filled}], tokenize=False, add_generation_prompt=True
            )
        return filled

    @torch.inference_mode()
    def log_probs(self, text: str) -> np.ndarray:
        """Log-probability of each verbaliser (all its tokens) as the answer to the prompt."""
        prompt = self.tokenizer(self.fill(text), add_special_tokens=False, return_tensors="pt")
        output = self.model(**prompt, use_cache=True)
        first = torch.log_softmax(output.logits[0, -1].float(), dim=-1)
        scores = []
        for tokens in self.answer_ids:
            score = float(first[tokens[0]])
            if len(tokens) > 1:
                cache = copy.deepcopy(output.past_key_values)
                rest = self.model(
                    input_ids=torch.tensor([tokens[:-1]]), past_key_values=cache, use_cache=True
                )
                steps = torch.log_softmax(rest.logits[0].float(), dim=-1)
                score += float(sum(steps[i, t] for i, t in enumerate(tokens[1:])))
            scores.append(score)
        return np.array(scores, dtype=np.float64)

    def content_free_prior(self) -> list[float]:
        """Log of the mean label distribution over content-free inputs."""
        probabilities = [_softmax(self.log_probs(text)) for text in CONTENT_FREE]
        return np.log(np.mean(probabilities, axis=0)).tolist()


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max())
    return shifted / shifted.sum()


def check_verbalisers(tokenizer: Any, labels: list[str], verbalisers: list[str]) -> None:
    """Refuse a verbaliser that tokenises to nothing, or two that tokenise the same (the model
    could not tell those labels apart; unknown words all become the same unknown token)."""
    seen: dict[tuple[int, ...], str] = {}
    for label, verbaliser in zip(labels, verbalisers, strict=True):
        ids = tuple(tokenizer(verbaliser, add_special_tokens=False)["input_ids"])
        if not ids:
            raise RecipeError(
                f"The verbaliser {verbaliser!r} of label '{label}' tokenises to nothing.",
                hint=f"Give label '{label}' a verbaliser: a word the model can answer with.",
            )
        if ids in seen:
            raise RecipeError(
                f"Labels '{seen[ids]}' and '{label}' have verbalisers that tokenise the same "
                f"({', '.join(tokenizer.convert_ids_to_tokens(list(ids)))}); the model could "
                "not tell them apart.",
                hint="Give each label its own verbaliser, in words the model's vocabulary has.",
            )
        seen[ids] = label


def load_generator(reference: str) -> tuple[str, Any, torch.nn.Module]:
    """(location, tokenizer, causal LM in float32) for a generator reference."""
    location = resolve_model(reference)
    tokenizer = AutoTokenizer.from_pretrained(location)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32)
    finally:
        transformers.logging.set_verbosity(verbosity)
    return location, tokenizer, model.eval()


def choose_calibration(
    scorer: PromptScorer,
    prior: list[float],
    setting: bool | str,
    validation: Any,
    labels: list[str],
) -> dict[str, Any]:
    """Whether to divide out the prior: as configured, or (auto) whichever of raw and
    calibrated scores is more accurate on the validation examples (ties: raw)."""
    record: dict[str, Any] = {"setting": setting, "content_free_prior": np.exp(prior).tolist()}
    if setting != "auto":
        return {**record, "applied": bool(setting)}
    if validation is None or not len(validation):
        return {**record, "applied": False, "reason": "no validation split to check it on"}
    raw = np.stack([scorer.log_probs(text) for text in validation.texts])
    gold = np.array([labels.index(str(t)) for t in validation.targets])
    accuracy = {
        "raw": float((raw.argmax(axis=1) == gold).mean()),
        "calibrated": float(((raw - np.array(prior)).argmax(axis=1) == gold).mean()),
    }
    return {
        **record,
        "validation_accuracy": accuracy,
        "applied": accuracy["calibrated"] > accuracy["raw"],
    }
