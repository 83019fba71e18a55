"""Serve a generative zero-shot bundle: the same ``predict`` as every classifier, with the
label probabilities coming from verbaliser scores (calibrated by the stored prior)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM

from bizlm.bundle_info import BundleInfo
from bizlm.errors import DataError
from bizlm.inference import softmax
from bizlm.predictor import Predictor, check_texts
from bizlm.prompting.generative import PromptScorer


class PromptPredictor(Predictor):
    """A classifier whose label scores come from a prompted generative language model."""

    auto_model = AutoModelForCausalLM

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        labels: Sequence[str],
        max_length: int = 128,
        info: BundleInfo | None = None,
    ) -> None:
        super().__init__(model, tokenizer, labels, max_length, info)
        prompt = self.info.prompt or {}
        self.scorer = PromptScorer(
            model, tokenizer, prompt["template"], prompt["verbalisers"], max_length
        )
        prior = prompt.get("prior")
        self.calibrated = prior is not None
        self.prior = np.array(prior) if self.calibrated else np.zeros(len(self.labels))

    def logits(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
        pairs: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Each label's verbaliser log-probability minus the stored prior, one row per text."""
        if pairs is not None:
            raise DataError(
                "A generative zero-shot model reads one text per example, not text pairs.",
                hint="Leave out text_pair.",
            )
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        rows = []
        for text in texts:
            rows.append(self.scorer.log_probs(text) - self.prior)
            if on_batch is not None:
                on_batch(1)
        return np.stack(rows)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        """Softmax over the labels' calibrated scores."""
        return softmax(logits).astype(np.float32)

    def try_prompt(self, text: str) -> dict[str, Any]:
        """The filled prompt and, per label, its verbaliser, raw score and probability."""
        raw = self.scorer.log_probs(text)
        probabilities = self.activate((raw - self.prior)[None, :])[0]
        return {
            "prompt": self.scorer.fill(text),
            "labels": [
                {
                    "label": label,
                    "verbaliser": verbaliser,
                    "log_prob": float(score),
                    "prior": float(np.exp(prior)) if self.calibrated else None,
                    "probability": float(p),
                }
                for label, verbaliser, score, prior, p in zip(
                    self.labels,
                    self.scorer.verbalisers,
                    raw,
                    self.prior,
                    probabilities,
                    strict=True,
                )
            ],
        }


def open_prompt_bundle(path: str | Path, info: BundleInfo) -> PromptPredictor:
    """The predictor of a generative zero-shot bundle (the registered loader of its runtime)."""
    return PromptPredictor.from_bundle(path)
