"""Sentence vectors for many texts, and loading an encoder as a sentence classifier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import transformers
from transformers import AutoModel, AutoTokenizer

from bizlm.backbones import resolve_model
from bizlm.inference import batched_outputs, evaluation_mode, tokenize
from bizlm.sentence_model import SentenceClassifier


def load_sentence_classifier(
    reference: str, labels: list[str]
) -> tuple[str, object, SentenceClassifier]:
    """(location, tokenizer, classifier) for a backbone reference; the head starts at zero."""
    location = resolve_model(reference)
    tokenizer = AutoTokenizer.from_pretrained(location)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # an unused pooler layer is expected
    try:
        encoder = AutoModel.from_pretrained(location)
    finally:
        transformers.logging.set_verbosity(verbosity)
    if hasattr(encoder, "pooler"):
        encoder.pooler = None
    encoder.config.pad_token_id = tokenizer.pad_token_id
    model = SentenceClassifier.around(encoder, labels)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
    return location, tokenizer, model


@torch.inference_mode()
def embed_texts(
    model: SentenceClassifier,
    tokenizer: object,
    texts: Sequence[str],
    max_length: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Unit-length sentence vectors, one row per text, in input order."""
    features = tokenize(tokenizer, texts, max_length)
    device = next(model.parameters()).device

    def forward(batch: dict[str, torch.Tensor]) -> np.ndarray:
        inputs = {k: v.to(device) for k, v in batch.items()}
        return model.embed(**inputs).float().cpu().numpy()

    with evaluation_mode(model):
        return batched_outputs(forward, features, int(tokenizer.pad_token_id or 0), batch_size)


def set_head(model: SentenceClassifier, weight: np.ndarray, bias: np.ndarray) -> None:
    """Put a (labels × hidden) weight matrix and a bias vector into the linear layer."""
    with torch.no_grad():
        model.classifier.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        model.classifier.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
