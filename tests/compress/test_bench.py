"""bizlm bench measures several bundles side by side."""

from __future__ import annotations

import json
from pathlib import Path

from bizlm.cli import run
from bizlm.compress.export import export_bundle
from bizlm.compress.options import ExportOptions

KEYS = {
    "bundle",
    "size_mb",
    "load_seconds",
    "latency_p50_ms",
    "latency_p95_ms",
    "throughput_per_s",
    "peak_rss_mb",
    "macro_f1",
}


def test_bench_two_bundles_json(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    onnx = export_bundle(
        tiny_bundle,
        ExportOptions(format="onnx", quantize="dynamic-int8", max_drop=100, output=tmp_path / "o"),
    ).bundle
    code = run(["bench", str(tiny_bundle), str(onnx), "--latency-texts", "5", "--json"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    results = json.loads(printed.out)
    assert [r["runtime"] for r in results] == ["transformers", "onnxruntime"]
    for result in results:
        assert set(result) >= KEYS
        assert result["size_mb"] > 0
        assert result["throughput_per_s"] > 0
        assert result["latency_p95_ms"] >= result["latency_p50_ms"] > 0
        assert 0 <= result["macro_f1"] <= 1
        assert result["evaluated_on"] == "test split"
    assert results[1]["size_mb"] < results[0]["size_mb"]


def test_bench_table(tiny_bundle: Path, capsys) -> None:
    assert run(["bench", str(tiny_bundle), "--latency-texts", "3"]) == 0
    printed = capsys.readouterr().out
    assert "bizlm bench" in printed
    assert tiny_bundle.name in printed
