"""Open a bundle with the runtime its ``bizlm.json`` names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.errors import BundleError
from bizlm.predictor import Predictor

RUNTIMES = ("transformers", "torch", "onnxruntime")


def open_runtime(path: str | Path, info: dict[str, Any]) -> Predictor:
    """A predictor over the bundle at ``path`` whose ``bizlm.json`` content is ``info``."""
    path = Path(path)
    runtime = str(info.get("runtime", "transformers"))
    if runtime == "onnxruntime":
        from bizlm.compress.runtime_onnx import open_onnx

        return open_onnx(path, info)
    if runtime == "torch":
        from bizlm.compress.runtime_torch import open_torch

        return open_torch(path, info)
    if runtime == "transformers":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(path / "model")
        tokenizer = AutoTokenizer.from_pretrained(path / "model")
        max_length = int(info.get("recipe", {}).get("train", {}).get("max_length", 128))
        return Predictor(model, tokenizer, info["labels"], max_length, info)
    raise BundleError(
        f"Bundle '{path}' needs runtime '{runtime}', which this bizlm does not know "
        f"(it knows {', '.join(RUNTIMES)}).",
        hint="Upgrade bizlm, or re-export the bundle.",
    )
