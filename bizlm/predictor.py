"""Load a bundle and predict: ``bizlm.load(path).predict(texts)``.

:class:`Predictor` serves single-label classifiers; its subclasses here serve multi-label
classifiers and scorers, and ``bizlm.tasks.tag_predictor`` serves taggers. ``load`` picks the
one the bundle's task needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

import bizlm.sentence_model  # noqa: F401  (registers the sentence classifier)
from bizlm.bundle import read_bundle_info
from bizlm.bundle_info import BundleInfo
from bizlm.bundle_runtimes import open_bundle
from bizlm.decision import Threshold, choose, threshold_of
from bizlm.ensemble_model import EnsembleModel, averaging_for
from bizlm.errors import BundleError, DataError
from bizlm.inference import batched_outputs, call_overhead_tokens, sigmoid, softmax, torch_forward
from bizlm.long_text import bundle_mode, encode_texts, window_logits
from bizlm.methods import build_method, method_config_class
from bizlm.ngram_model import Blend


class Predictor:
    """A text classifier ready for inference."""

    auto_model: Any = AutoModelForSequenceClassification
    #: an n-gram model whose outputs are mixed into the model's (see ``bizlm.ngram_model``)
    blend: Blend | None = None

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        labels: Sequence[str],
        max_length: int = 128,
        info: BundleInfo | None = None,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.info = info or BundleInfo(labels=self.labels)

    @classmethod
    def from_bundle(cls, path: str | Path) -> Predictor:
        """Load ``path/model`` with plain transformers, labels and settings from ``bizlm.json``."""
        info = read_bundle_info(path)
        model = _bundle_model(cls.auto_model, Path(path), info)
        if info.ensemble:
            members = [model]
            for folder in info.ensemble["member_dirs"]:
                members.append(_bundle_model(cls.auto_model, Path(path) / folder, info))
            model = EnsembleModel(members, averaging_for(info.task_settings))
        tokenizer = AutoTokenizer.from_pretrained(Path(path) / "model")
        return cls(model, tokenizer, info.labels, info.max_length, info)

    @property
    def pad_token_id(self) -> int:
        """Token id used for padding batches."""
        return int(self.tokenizer.pad_token_id or 0)

    @property
    def long_inputs(self) -> str:
        """How texts longer than ``max_length`` are read: ``truncate``, ``head_tail`` or
        ``window`` (see ``bizlm.long_text``), as the bundle's recipe says."""
        return bundle_mode(self.info)

    @property
    def decision_threshold(self) -> Threshold | None:
        """The tuned decision threshold of a two-label classifier (None: the most probable)."""
        return threshold_of(self.info.calibration, self.labels)

    def choose(self, probabilities: np.ndarray) -> np.ndarray:
        """The label index each row of :meth:`predict_proba` predicts (see ``bizlm.decision``)."""
        return choose(probabilities, self.decision_threshold)

    def predict_proba(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
        pairs: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Outputs per text (or text pair), shape (len(texts), len(labels)), in ``labels`` order.

        Class probabilities for a classifier; see the subclasses for other tasks. A bundle
        that blends an n-gram model mixes its outputs in (``blend`` in bizlm.json).
        """
        outputs = self.activate(self.logits(texts, batch_size, on_batch, pairs))
        if self.blend is not None:
            outputs = self.blend.mix(outputs, texts, pairs)
        return outputs

    def logits(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        on_batch: Callable[[int], None] | None = None,
        pairs: Sequence[str] | None = None,
    ) -> np.ndarray:
        """The head's raw scores per text (or text pair), before the task's activation.

        A text read as several windows gets the log of its windows' mean class probabilities
        (so the softmax of its row is that mean); ``on_batch`` counts model inputs (windows).
        """
        texts = check_texts(texts)
        if pairs is not None:
            pairs = check_texts(pairs)
            if len(pairs) != len(texts):
                raise DataError(
                    f"Got {len(texts)} texts but {len(pairs)} text pairs.",
                    hint="Give one text_pair per text.",
                )
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        encoded = encode_texts(self.tokenizer, texts, self.max_length, pairs, self.long_inputs)
        with torch.inference_mode():
            outputs = batched_outputs(
                self._forward,
                encoded.features,
                self.pad_token_id,
                batch_size,
                on_batch,
                call_overhead=self.call_overhead(),
            )
        return window_logits(outputs, encoded.owners, len(texts))

    def call_overhead(self) -> int | None:
        """The per-call cost, in tokens, that inference batches are cut by (see
        ``bizlm.inference.call_overhead_tokens``)."""
        return call_overhead_tokens(next(self.model.parameters()).device)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        """Turn the head's :meth:`logits` into the task's outputs (here: class probabilities)."""
        return softmax(logits)

    def _forward(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        """Logits of one padded batch (runtimes other than torch override this)."""
        return torch_forward(self.model)(batch)

    def predict(
        self,
        texts: str | Sequence[str],
        batch_size: int = 64,
        pairs: str | Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """One prediction per text: see :meth:`_describe` of each predictor."""
        if isinstance(texts, str):
            texts = [texts]
        if isinstance(pairs, str):
            pairs = [pairs]
        outputs = self.predict_proba(texts, batch_size, pairs=pairs)
        return [self._describe(row) for row in outputs]

    def _describe(self, row: np.ndarray) -> dict[str, Any]:
        """The chosen label, its probability and all probabilities."""
        best = int(self.choose(row[None, :])[0])
        return {
            "label": self.labels[best],
            "score": float(row[best]),
            "probabilities": {label: float(p) for label, p in zip(self.labels, row, strict=True)},
        }


class MultiLabelPredictor(Predictor):
    """Several labels per text: each label whose probability reaches its tuned threshold."""

    @property
    def thresholds(self) -> list[float]:
        """Per-label decision thresholds, tuned on validation (0.5 when none were saved)."""
        saved = self.info.calibration.get("thresholds")
        return list(saved) if saved else [0.5] * len(self.labels)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(logits)

    def _describe(self, row: np.ndarray) -> dict[str, Any]:
        """The labels that apply, and every label's probability."""
        chosen = [
            label for label, p, t in zip(self.labels, row, self.thresholds, strict=True) if p >= t
        ]
        return {
            "labels": chosen,
            "probabilities": {label: float(p) for label, p in zip(self.labels, row, strict=True)},
        }


class ScorePredictor(Predictor):
    """A number per text or text pair (regression, relevance, matching)."""

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return logits.astype(np.float32)

    def _describe(self, row: np.ndarray) -> dict[str, Any]:
        """The predicted score."""
        return {"score": float(row[0])}


def _bundle_model(auto_model: Any, folder: Path, info: BundleInfo) -> torch.nn.Module:
    """``folder/model`` with ``folder/adapter`` applied when the method could not merge it."""
    model = auto_model.from_pretrained(folder / "model")
    if not info.merged:
        model = _apply_adapter(model, info, folder / "adapter")
    return model


def _apply_adapter(model: PreTrainedModel, info: BundleInfo, directory: Path) -> torch.nn.Module:
    """Put a non-mergeable method's adapter back on the bundle's backbone."""
    options = info.method_settings
    method = build_method(method_config_class(options["name"]).model_validate(options))
    return method.load_adapter(model, directory)


def check_texts(texts: Sequence[str]) -> list[str]:
    checked = []
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(
                f"Input {position} is a {type(text).__name__}, not text.",
                hint="Pass a list of strings.",
            )
        checked.append(text)
    return checked


def load(path: str | Path) -> Any:
    """Load a bundle for prediction, in the runtime its ``bizlm.json`` names.

    ``bizlm.load`` (:mod:`bizlm.loading`) also serves several adapter bundles from one backbone.
    """
    info = read_bundle_info(path)
    try:
        return _load_runtime(path, info)
    except (OSError, ValueError, RuntimeError, EOFError, SafetensorError) as exc:
        raise BundleError(
            f"Bundle '{path}' cannot be loaded: {exc}",
            hint="Copy the whole bundle folder again or retrain it; if it was made by another "
            "version of bizlm, check the versions its bizlm.json lists.",
        ) from None


def _load_runtime(path: str | Path, info: BundleInfo) -> Any:
    """The predictor of a bundle whose ``bizlm.json`` is ``info``, opened by the loader
    registered for its runtime (see ``bizlm.bundle_runtimes``)."""
    return open_bundle(path, info)
