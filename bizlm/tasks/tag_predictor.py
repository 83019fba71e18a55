"""Serve a token-classification (NER) bundle: texts in, entity spans with character offsets out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForTokenClassification

from bizlm.data.tags import bio_to_spans
from bizlm.data.words import split_words
from bizlm.errors import BizlmError
from bizlm.inference import softmax
from bizlm.predictor import Predictor, check_texts
from bizlm.tasks.tag_decoding import TagPrior, decode
from bizlm.tasks.tag_prior import prior_from_json
from bizlm.tasks.tag_windows import encode_windows, word_logits


class TagPredictor(Predictor):
    """A tagger: the entities in each text, as typed character spans with a confidence."""

    auto_model = AutoModelForTokenClassification

    @property
    def long_inputs(self) -> str:
        """How sentences longer than max_length are handled: ``window`` or ``truncate``."""
        return str(self.info.task_settings.get("long_inputs", "window"))

    @property
    def tag_prior(self) -> TagPrior | None:
        """The tag-sequence prior tuned on validation after training (None when not saved)."""
        return prior_from_json(self.info.calibration.get("tag_prior"))

    def logits(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Taggers give spans per text, not one score row (so no ``predict_proba`` either)."""
        raise BizlmError(
            "This bundle tags tokens (named entities); it has no per-text probabilities.",
            hint="Call predict(texts) for entity spans, or predict_words(sentences) for tags.",
        )

    def word_probabilities(
        self,
        sentences: Sequence[list[str]],
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[np.ndarray]:
        """Per sentence, a (words, tags) array of tag probabilities."""
        windows = encode_windows(self.tokenizer, sentences, self.max_length, self.long_inputs)
        with torch.inference_mode():
            logits = word_logits(
                self._forward,
                windows,
                self.pad_token_id,
                batch_size,
                len(self.labels),
                self.call_overhead(),
            )
        return [softmax(rows) if len(rows) else rows for rows in logits]

    def predict_words(
        self, sentences: Sequence[list[str]], batch_size: int = 64
    ) -> list[list[str]]:
        """BIO tags for sentences already split into words."""
        prior = self.tag_prior
        probabilities = self.word_probabilities(sentences, batch_size)
        return [decode(p, self.labels, prior) for p in probabilities]

    def predict(
        self,
        texts: str | Sequence[str],
        batch_size: int = 64,
        pairs: str | Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Entities of each text: ``text``, ``type``, ``start``, ``end`` (exclusive), ``score``."""
        if pairs is not None:
            raise BizlmError("A tagger takes single texts, not text pairs.", hint="Drop pairs.")
        texts = check_texts([texts] if isinstance(texts, str) else texts)
        words = [split_words(text) for text in texts]
        probabilities = self.word_probabilities([[w for w, _, _ in ws] for ws in words], batch_size)
        prior = self.tag_prior
        return [
            {"entities": entities(text, ws, p, self.labels, prior)}
            for text, ws, p in zip(texts, words, probabilities, strict=True)
        ]


def entities(
    text: str,
    words: list[tuple[str, int, int]],
    probabilities: np.ndarray,
    tags: Sequence[str],
    prior: TagPrior | None = None,
) -> list[dict[str, Any]]:
    """Entity spans of one text from its words (with offsets), their tag probabilities and the
    tagger's tag prior."""
    found = []
    chosen = decode(probabilities, tags, prior)
    for kind, first, last in bio_to_spans(chosen):
        start, end = words[first][1], words[last][2]
        confidence = [probabilities[i][list(tags).index(chosen[i])] for i in range(first, last + 1)]
        found.append(
            {
                "text": text[start:end],
                "type": kind,
                "start": start,
                "end": end,
                "score": float(np.mean(confidence)),
            }
        )
    return found
