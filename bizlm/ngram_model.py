"""A TF-IDF + linear model over n-grams, kept as plain arrays so a bundle can carry it safely.

The baseline (:mod:`bizlm.evaluation.baseline`) fits one with scikit-learn; a bundle that blends
it into its model keeps it in ``ngram/`` as ``ngram.json`` (vectorizer settings and vocabulary)
and ``ngram.safetensors`` (IDF weights, coefficients, intercepts). No pickle is read back: the
vectorizer is rebuilt from its settings and vocabulary, and the linear part is computed here.

Outputs follow the task's activation: class probabilities (``softmax``, or ``binary`` for a
two-class logistic regression, which keeps one coefficient row), per-label probabilities
(``sigmoid``, multi-label) or the regression value (``linear``, score).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer

from bizlm.errors import BundleError

NGRAM_DIR = "ngram"
PAIR_SEPARATOR = " | "
_SETTINGS_FILE = "ngram.json"
_ARRAYS_FILE = "ngram.safetensors"
_VECTORIZER_KEYS = ("analyzer", "ngram_range", "sublinear_tf", "min_df")

Activation = Literal["softmax", "binary", "sigmoid", "linear"]


def joined(texts: Sequence[str], pairs: Sequence[str] | None) -> list[str]:
    """The texts as the n-gram model reads them: a text pair becomes one text."""
    if pairs is None:
        return list(texts)
    return [f"{text}{PAIR_SEPARATOR}{pair}" for text, pair in zip(texts, pairs, strict=True)]


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


@dataclass
class NgramModel:
    """A fitted vectorizer and the linear model over its features.

    ``coef`` has one row per output of the linear model and ``intercept`` one value per row;
    ``columns`` is the position, among the task's ``width`` outputs, of each class the model
    was fitted on (``softmax`` and ``binary``; a class training never saw gets 0).
    """

    vectorizer: TfidfVectorizer
    coef: np.ndarray
    intercept: np.ndarray
    activation: Activation
    width: int
    columns: list[int]

    def outputs(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> np.ndarray:
        """The model's outputs per text (or text pair), shape (len(texts), width)."""
        return self.outputs_of(self.vectorizer.transform(joined(texts, pairs)))

    def outputs_of(self, features: Any) -> np.ndarray:
        """The outputs for rows of TF-IDF ``features`` already computed by the vectorizer."""
        raw = np.asarray(features @ self.coef.T, dtype=np.float64) + self.intercept
        if self.activation == "linear":
            return raw
        if self.activation == "sigmoid":
            return _sigmoid(raw)
        if self.activation == "binary":
            positive = _sigmoid(raw[:, 0])
            fitted = np.column_stack([1.0 - positive, positive])
        else:
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            fitted = shifted / shifted.sum(axis=1, keepdims=True)
        full = np.zeros((raw.shape[0], self.width))
        full[:, self.columns] = fitted
        return full

    def save(self, folder: Path) -> None:
        """Write ``ngram.json`` and ``ngram.safetensors`` into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=True)
        params = self.vectorizer.get_params()
        settings = {key: params[key] for key in _VECTORIZER_KEYS}
        settings["ngram_range"] = list(settings["ngram_range"])
        vocabulary = {term: int(index) for term, index in self.vectorizer.vocabulary_.items()}
        record = {
            "vectorizer": settings,
            "vocabulary": vocabulary,
            "activation": self.activation,
            "width": self.width,
            "columns": self.columns,
        }
        (folder / _SETTINGS_FILE).write_text(json.dumps(record, ensure_ascii=False), "utf-8")
        arrays = {
            "idf": np.asarray(self.vectorizer.idf_, dtype=np.float64),
            "coef": np.ascontiguousarray(self.coef, dtype=np.float64),
            "intercept": np.asarray(self.intercept, dtype=np.float64),
        }
        save_file(arrays, str(folder / _ARRAYS_FILE))

    @classmethod
    def load(cls, folder: Path) -> NgramModel:
        """Rebuild the model that :meth:`save` wrote to ``folder``."""
        settings_path, arrays_path = folder / _SETTINGS_FILE, folder / _ARRAYS_FILE
        if not settings_path.is_file() or not arrays_path.is_file():
            raise BundleError(
                f"{folder} lacks {_SETTINGS_FILE} or {_ARRAYS_FILE}, which the bundle's blend "
                "with its n-gram model needs.",
                hint="Copy the whole bundle folder again, or retrain it with `bizlm train`.",
            )
        record = json.loads(settings_path.read_text("utf-8"))
        arrays = load_file(str(arrays_path))
        options = dict(record["vectorizer"])
        options["ngram_range"] = tuple(options["ngram_range"])
        vectorizer = TfidfVectorizer(**options)
        vectorizer.vocabulary_ = record["vocabulary"]
        vectorizer.idf_ = arrays["idf"]
        return cls(
            vectorizer=vectorizer,
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            activation=record["activation"],
            width=int(record["width"]),
            columns=[int(c) for c in record["columns"]],
        )


@dataclass
class Blend:
    """A model's outputs mixed with an n-gram model's: ``(1 - weight) * model + weight * ngram``."""

    ngram: NgramModel
    weight: float

    def mix(
        self, outputs: np.ndarray, texts: Sequence[str], pairs: Sequence[str] | None = None
    ) -> np.ndarray:
        """The blended outputs of ``texts`` whose model outputs are ``outputs``."""
        ngram = self.ngram.outputs(texts, pairs)
        return ((1.0 - self.weight) * outputs + self.weight * ngram).astype(np.float32)
