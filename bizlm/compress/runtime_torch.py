"""The ``torch`` runtime: a model rebuilt from its config, its recorded structure (pruned
heads, quantisation) and ``weights.pt``, for models ``from_pretrained`` cannot rebuild."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from bizlm.bundle_info import BundleInfo
from bizlm.compress.prune import remove_heads
from bizlm.compress.quantize import apply_torch_quantization
from bizlm.predictor import Predictor

WEIGHTS_FILE = "weights.pt"


def save_torch_model(model: torch.nn.Module, directory: Path) -> None:
    """Write the model's state dict (quantised tensors included) to ``directory``."""
    with _storage_notice_silenced():
        torch.save(model.state_dict(), Path(directory) / WEIGHTS_FILE)


def load_torch_model(path: Path, info: BundleInfo) -> torch.nn.Module:
    """Rebuild the architecture ``info.compression`` describes and load its weights."""
    compression = info.compression
    config = AutoConfig.from_pretrained(Path(path) / "model")
    model = AutoModelForSequenceClassification.from_config(config)
    pruned = {int(layer): heads for layer, heads in compression.get("pruned_heads", {}).items()}
    if pruned:
        remove_heads(model, pruned)
    model = apply_torch_quantization(model, info.quantize)
    with _storage_notice_silenced():
        state = torch.load(Path(path) / WEIGHTS_FILE, weights_only=True)
    model.load_state_dict(state)
    return model.eval()


@contextlib.contextmanager
def _storage_notice_silenced() -> Iterator[None]:
    """Quantised tensors still go through TypedStorage when (de)serialised; its notice is noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
        yield


def open_torch(path: Path, info: BundleInfo) -> Predictor:
    """A :class:`Predictor` over a ``torch``-runtime bundle (or a folder laid out like one)."""
    model = load_torch_model(path, info)
    tokenizer = AutoTokenizer.from_pretrained(Path(path) / "model")
    return Predictor(model, tokenizer, info.labels, info.max_length, info)
