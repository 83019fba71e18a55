"""Load a bundle and classify texts: ``bizlm.load(path).predict(texts)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

from bizlm.bundle import read_bundle_info
from bizlm.errors import DataError
from bizlm.inference import batched_logits, softmax, tokenize


class Predictor:
    """A text classifier ready for inference."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        labels: Sequence[str],
        max_length: int = 128,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.info = info or {}

    @classmethod
    def from_bundle(cls, path: str | Path) -> Predictor:
        """Load ``path/model`` with plain transformers, labels and settings from ``bizlm.json``."""
        info = read_bundle_info(path)
        model_dir = Path(path) / "model"
        model = AutoModelForSequenceClassification.from_pretrained(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        max_length = int(info.get("recipe", {}).get("train", {}).get("max_length", 128))
        return cls(model, tokenizer, info["labels"], max_length, info)

    @property
    def pad_token_id(self) -> int:
        """Token id used for padding batches."""
        return int(self.tokenizer.pad_token_id or 0)

    def predict_proba(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Class probabilities, shape (len(texts), len(labels)), columns in ``labels`` order."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        features = tokenize(self.tokenizer, texts, self.max_length)
        with torch.inference_mode():
            logits = batched_logits(self.model, features, self.pad_token_id, batch_size, on_batch)
        return softmax(logits)

    def predict(self, texts: str | Sequence[str], batch_size: int = 64) -> list[dict[str, Any]]:
        """Label, its probability and all probabilities for each text."""
        if isinstance(texts, str):
            texts = [texts]
        probabilities = self.predict_proba(texts, batch_size)
        return [self._describe(row) for row in probabilities]

    def _describe(self, row: np.ndarray) -> dict[str, Any]:
        best = int(row.argmax())
        return {
            "label": self.labels[best],
            "score": float(row[best]),
            "probabilities": {label: float(p) for label, p in zip(self.labels, row, strict=True)},
        }


def _check_texts(texts: Sequence[str]) -> list[str]:
    checked = []
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(
                f"Input {position} is a {type(text).__name__}, not text.",
                hint="Pass a list of strings.",
            )
        checked.append(text)
    return checked


def load(path: str | Path) -> Predictor:
    """Load a bundle for prediction."""
    return Predictor.from_bundle(path)
