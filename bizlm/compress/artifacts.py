"""Write the model files of an exported bundle: ONNX, rebuilt PyTorch, or plain transformers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bizlm.compress.onnx_export import export_onnx, model_input_names
from bizlm.compress.onnx_quantize import (
    calibration_batches,
    quantize_onnx_dynamic,
    quantize_onnx_static,
)
from bizlm.compress.options import ExportOptions
from bizlm.compress.quantize import apply_torch_quantization
from bizlm.compress.runtime_onnx import ONNX_FILE
from bizlm.compress.runtime_torch import save_torch_model
from bizlm.compress.source import SourceModel


def write_model(
    source: SourceModel,
    options: ExportOptions,
    heads_pruned: bool,
    calibration_texts: list[str],
    target: Path,
    scratch: Path,
) -> str:
    """Write ``model/`` (config and tokenizer, plus weights when plain) and the runtime's
    model file into ``target``; intermediate files go to ``scratch``. Returns the runtime.

    Models ``from_pretrained`` can rebuild stay plain ``transformers`` bundles; pruned heads
    or int8 layers need the ``torch`` runtime, which rebuilds them from ``bizlm.json``.
    """
    model_dir = target / "model"
    source.tokenizer.save_pretrained(model_dir)
    if options.format == "onnx":
        source.model.config.save_pretrained(model_dir)
        _write_onnx(source, options.quantize, calibration_texts, target / ONNX_FILE, scratch)
        return "onnxruntime"
    model = apply_torch_quantization(source.model, options.quantize)
    if heads_pruned or options.quantize == "dynamic-int8":
        model.config.save_pretrained(model_dir)
        save_torch_model(model, target)
        return "torch"
    model.save_pretrained(model_dir)
    return "transformers"


def _write_onnx(
    source: SourceModel, quantize: str, calibration_texts: list[str], target: Path, scratch: Path
) -> None:
    names = model_input_names(source.tokenizer)
    exported = export_onnx(source.model, names, scratch / "fp32.onnx")
    if quantize == "dynamic-int8":
        quantize_onnx_dynamic(exported, target)
    elif quantize == "static-int8":
        batches = calibration_batches(source.tokenizer, calibration_texts, source.max_length, names)
        quantize_onnx_static(exported, target, batches)
    else:
        shutil.move(exported, target)


def describe_model_files(target: Path) -> dict[str, Any]:
    """Sizes of the model files, in bytes, for the report."""
    return {
        str(path.relative_to(target)): path.stat().st_size
        for path in sorted(target.rglob("*"))
        if path.is_file()
    }
