"""Every export path writes a bundle that bizlm.load reads and that predicts like its source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import bizlm
from bizlm.cli import run
from bizlm.compress.export import export_bundle
from bizlm.compress.options import ExportOptions
from bizlm.compress.runtime_onnx import OnnxPredictor
from tests.compress.helpers import bundle_info

PATHS = [
    ("torch", "none", "transformers", 1e-5),
    ("torch", "dynamic-int8", "torch", 0.05),
    ("torch", "bf16", "transformers", 0.05),
    ("onnx", "none", "onnxruntime", 1e-4),
    ("onnx", "dynamic-int8", "onnxruntime", 0.05),
    ("onnx", "static-int8", "onnxruntime", 0.05),
]


@pytest.mark.parametrize(("fmt", "quantize", "runtime", "tolerance"), PATHS)
def test_export_round_trips_through_load(
    tiny_bundle: Path, texts: list[str], tmp_path: Path, fmt, quantize, runtime, tolerance
) -> None:
    options = ExportOptions(format=fmt, quantize=quantize, max_drop=100, output=tmp_path / "out")
    result = export_bundle(tiny_bundle, options)
    source = bizlm.load(tiny_bundle)
    exported = bizlm.load(result.bundle)
    difference = np.abs(exported.predict_proba(texts) - source.predict_proba(texts)).max()
    assert difference <= tolerance
    assert [r["label"] for r in exported.predict(texts)] == [
        r["label"] for r in source.predict(texts)
    ]
    info = bundle_info(result.bundle)
    assert info["runtime"] == runtime
    assert info["rejected"] is False
    assert info["compression"]["quantize"] == quantize
    parity = info["parity"]
    assert parity["label_agreement"] >= 0.9
    assert parity["max_probability_difference"] <= max(tolerance, 0.1)
    assert info["metrics"]["evaluated_on"] == "test"
    assert (result.bundle / "model" / "config.json").is_file()
    assert (result.bundle / "model" / "tokenizer.json").is_file()
    assert (result.bundle / "report.html").is_file()
    assert "## Compression" in (result.bundle / "MODEL_CARD.md").read_text()


def test_onnx_bundle_has_dynamic_axes_and_no_torch_weights(
    tiny_bundle: Path, texts: list[str], tmp_path: Path
) -> None:
    import onnx

    result = export_bundle(tiny_bundle, ExportOptions(format="onnx", output=tmp_path / "onnx"))
    graph = onnx.load(str(result.bundle / "model.onnx"))
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    dims = {i.name: [d.dim_param for d in i.type.tensor_type.shape.dim] for i in graph.graph.input}
    assert dims["input_ids"] == ["batch", "sequence"]
    assert not list((result.bundle / "model").glob("*.safetensors"))
    predictor = bizlm.load(result.bundle)
    assert isinstance(predictor, OnnxPredictor)
    assert predictor.labels == bizlm.load(tiny_bundle).labels
    long_batch = [" ".join([texts[1]] * 5)] * 40  # longer and larger than the traced example
    assert predictor.predict_proba(long_batch, batch_size=40).shape == (40, 3)


def test_exported_bundle_evaluates(tiny_bundle: Path, tmp_path: Path) -> None:
    data = bundle_info(tiny_bundle)["recipe"]["data"]["train"]
    result = export_bundle(
        tiny_bundle, ExportOptions(format="onnx", quantize="dynamic-int8", output=tmp_path / "q")
    )
    metrics = bizlm.evaluate(bizlm.load(result.bundle), data)
    assert metrics["n"] == 240
    assert metrics["macro_f1"] > 0.8


def test_export_command_prints_json(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "cli"
    code = run(
        [
            "export",
            str(tiny_bundle),
            "--format",
            "onnx",
            "--quantize",
            "dynamic-int8",
            "--output",
            str(output),
            "--json",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    payload = json.loads(printed.out)
    assert payload["bundle"] == str(output)
    assert payload["runtime"] == "onnxruntime"
    assert payload["rejected"] is False
    assert set(payload["parity"]) >= {"label_agreement", "max_probability_difference"}
