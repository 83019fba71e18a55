"""The bi-encoder: one sentence encoder for user profiles and items, tuned contrastively.

A profile text (the user's recent items) and the item that came next form a positive pair; the
other items of the batch are its negatives (in-batch softmax, InfoNCE). The bundle is a bizlm
bundle (``model/`` is the registered sentence model, ``bizlm.json``, ``metrics.json``) plus
``index/``: unit-length vectors of every catalog item for nearest-neighbour candidates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from bizlm.apps.recommend.config import BiEncoderConfig
from bizlm.batching import PaddingCollator
from bizlm.bundle import read_bundle_info, write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.errors import BundleError
from bizlm.inference import tokenize
from bizlm.progress import Reporter
from bizlm.prompting.encoding import embed_texts, load_sentence_classifier
from bizlm.prompting.steps import run_epochs
from bizlm.recipe import TrainConfig
from bizlm.sentence_model import SentenceClassifier

BUNDLE_KIND = "bi-encoder"
_LABELS = ["similarity"]
_RETRAIN = "Run `bizlm app recommend train DIR` again."


class BiEncoder:
    """An encoder that maps profiles and items into one vector space."""

    def __init__(self, model: SentenceClassifier, tokenizer: Any, max_length: int) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_backbone(cls, reference: str, max_length: int) -> BiEncoder:
        """A fresh bi-encoder on a backbone (alias, folder or hub id)."""
        _, tokenizer, model = load_sentence_classifier(reference, _LABELS)
        return cls(model, tokenizer, max_length)

    @classmethod
    def from_bundle(cls, path: Path, item_ids: list[str]) -> tuple[BiEncoder, np.ndarray]:
        """The bi-encoder of a bundle and its item-vector index, checked against ``item_ids``."""
        info = read_bundle_info(path)
        if info.kind != BUNDLE_KIND:
            raise BundleError(f"'{path}' is not a bi-encoder bundle.", hint=_RETRAIN)
        indexed = json.loads((Path(path) / "index" / "item_ids.json").read_text())
        if indexed != item_ids:
            raise BundleError(
                f"The item index in '{path}' was built for another items file.", hint=_RETRAIN
            )
        model = AutoModelForSequenceClassification.from_pretrained(Path(path) / "model")
        tokenizer = AutoTokenizer.from_pretrained(Path(path) / "model")
        vectors = np.load(Path(path) / "index" / "item_vectors.npy")
        return cls(model, tokenizer, int((info.model_extra or {})["max_length"])), vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors, one row per text."""
        return embed_texts(self.model, self.tokenizer, list(texts), self.max_length)

    def tune(
        self,
        profiles: list[str],
        items: list[str],
        config: BiEncoderConfig,
        seed: int,
        reporter: Reporter,
    ) -> dict[str, Any]:
        """Contrastive tuning on (profile, next item) pairs; returns the loss history."""
        train = TrainConfig(
            epochs=config.epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            max_length=config.max_length,
            seed=seed,
        )
        left = tokenize(self.tokenizer, profiles, config.max_length)
        right = tokenize(self.tokenizer, items, config.max_length)
        collate = PaddingCollator(int(self.tokenizer.pad_token_id or 0))
        generator = np.random.default_rng(seed)
        epochs = []
        for _ in range(config.epochs):
            order = generator.permutation(len(profiles)).tolist()
            batches = [
                order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)
            ]
            epochs.append([batch for batch in batches if len(batch) > 1])
        torch.manual_seed(seed)

        def backward(batch: list[int]) -> float:
            queries = self.model.embed(**collate([left[i] for i in batch]))
            keys = self.model.embed(**collate([right[i] for i in batch]))
            logits = queries @ keys.T / config.temperature
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            loss.backward()
            return float(loss.detach())

        parameters = list(self.model.encoder.parameters())
        result = run_epochs(
            self.model, parameters, train, epochs, backward, reporter, "bi-encoder", "info_nce"
        )
        return {"history": result.history, "train_seconds": result.train_seconds}

    def save(
        self, target: Path, item_ids: list[str], item_vectors: np.ndarray, info: dict[str, Any]
    ) -> Path:
        """Write the bundle (model, tokenizer, item index, bizlm.json) atomically."""

        def contents(staging: Path) -> None:
            self.model.save_pretrained(staging / "model")
            self.tokenizer.save_pretrained(staging / "model")
            (staging / "index").mkdir()
            np.save(staging / "index" / "item_vectors.npy", item_vectors.astype(np.float32))
            (staging / "index" / "item_ids.json").write_text(json.dumps(item_ids))
            (staging / "MODEL_CARD.md").write_text(_model_card(info), encoding="utf-8")

        full = {"kind": BUNDLE_KIND, "labels": _LABELS, "max_length": self.max_length, **info}
        return write_bundle(target, BundleInfo.model_validate(full), contents)


def nearest_items(
    profile_vector: np.ndarray, item_vectors: np.ndarray, count: int, exclude: set[int]
) -> list[int]:
    """The ``count`` items closest to the profile vector, leaving out ``exclude``."""
    scores = item_vectors @ profile_vector
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if int(i) not in exclude][:count]


def _model_card(info: dict[str, Any]) -> str:
    return (
        "# Bi-encoder for recommendation\n\n"
        "One sentence encoder embeds user profiles (recent items' text) and items; the dot\n"
        "product of unit vectors ranks candidates. `index/item_vectors.npy` holds the\n"
        "catalog's item vectors in item order.\n\n"
        f"```json\n{json.dumps(info, indent=2, default=str)}\n```\n"
    )
