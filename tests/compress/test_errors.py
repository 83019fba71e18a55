"""Bad export input gets a clear one-line error and exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.compress.helpers import fails_with


def test_quantizing_a_quantized_bundle(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    from bizlm.compress.export import export_bundle
    from bizlm.compress.options import ExportOptions

    quantized = export_bundle(
        tiny_bundle,
        ExportOptions(format="torch", quantize="dynamic-int8", max_drop=100, output=tmp_path / "q"),
    ).bundle
    fails_with(
        capsys,
        ["export", str(quantized), "--format", "onnx", "--quantize", "dynamic-int8"],
        "already quantised (dynamic-int8)",
        f"Export from the fp32 bundle it came from ({tiny_bundle})",
    )


def test_method_that_cannot_be_merged(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    copy = Path(shutil.copytree(tiny_bundle, tmp_path / "adapter-only"))
    info = json.loads((copy / "bizlm.json").read_text())
    info["recipe"]["method"] = {"name": "prefix-tuning"}
    info["merged"] = False
    (copy / "bizlm.json").write_text(json.dumps(info))
    fails_with(
        capsys,
        ["export", str(copy), "--format", "onnx"],
        "method 'prefix-tuning'",
        "cannot be merged",
        "Retrain with a mergeable method",
    )


def test_calibration_sample_larger_than_the_data(tiny_bundle: Path, capsys) -> None:
    fails_with(
        capsys,
        [
            "export",
            str(tiny_bundle),
            "--format",
            "onnx",
            "--quantize",
            "static-int8",
            "--calibration-size",
            "5000",
        ],
        "--calibration-size 5000 is larger than the training data",
        "(192 texts)",
    )


def test_pruning_more_heads_than_a_layer_has(tiny_bundle: Path, capsys) -> None:
    fails_with(
        capsys,
        ["export", str(tiny_bundle), "--format", "torch", "--prune", "heads=3"],
        "Cannot prune 3 heads per layer: layer 0 has 2",
    )


def test_option_mistakes(tiny_bundle: Path, capsys) -> None:
    fails_with(
        capsys,
        ["export", str(tiny_bundle), "--format", "onnx", "--quantize", "bf16"],
        "--quantize bf16 is not available with --format onnx",
    )
    fails_with(
        capsys,
        ["export", str(tiny_bundle), "--format", "torch", "--prune", "magnitude=1.5"],
        "between 0 and 1",
    )
    fails_with(
        capsys,
        ["export", str(tiny_bundle), "--format", "torch", "--recover-epochs", "1"],
        "--recover-epochs only applies after pruning",
    )
    fails_with(
        capsys,
        ["export", str(tiny_bundle), "--format", "onnx", "--output", str(tiny_bundle)],
        "is the source bundle itself",
    )
