"""The runtimes an export writes: their bundle loaders (registered by :mod:`bizlm.builtins`),
and opening an export's folder before its ``bizlm.json`` is written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bizlm.bundle_runtimes import RUNTIMES, with_blend
from bizlm.compress.runtime_onnx import open_onnx
from bizlm.compress.runtime_torch import open_torch
from bizlm.predictor import Predictor

if TYPE_CHECKING:
    from bizlm.bundle_info import BundleInfo


def open_torch_bundle(path: Path, info: BundleInfo) -> Predictor:
    """The predictor of a ``torch``-runtime bundle."""
    return open_torch(path, info)


def open_onnx_bundle(path: Path, info: BundleInfo) -> Predictor:
    """The predictor of an ``onnxruntime`` bundle (ONNX Runtime is imported at first use)."""
    return open_onnx(path, info)


def open_runtime(path: str | Path, info: BundleInfo) -> Predictor:
    """A predictor over the export folder ``path``, in the runtime that ``info`` (the
    ``bizlm.json`` content to be written) names."""
    path = Path(path)
    if info.runtime != "transformers":
        return with_blend(RUNTIMES[info.runtime](path, info), path, info)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(path / "model")
    tokenizer = AutoTokenizer.from_pretrained(path / "model")
    return with_blend(Predictor(model, tokenizer, info.labels, info.max_length, info), path, info)
