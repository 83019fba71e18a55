"""``bizlm bench``: measure bundles side by side, each in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from bizlm.bundle import read_bundle_info
from bizlm.errors import BizlmError


def bundle_size(path: Path) -> int:
    """Bytes on disk of every file in the bundle."""
    return sum(item.stat().st_size for item in Path(path).rglob("*") if item.is_file())


def bench_bundle(
    bundle: Path, data: Path | None = None, latency_texts: int = 100, repeats: int = 1
) -> dict[str, Any]:
    """Measurements of one bundle, taken in a fresh interpreter (see ``bench_worker``)."""
    read_bundle_info(bundle)  # a clear error for a folder that is not a bundle
    command = [
        sys.executable,
        "-m",
        "bizlm.compress.bench_worker",
        str(bundle),
        "--latency-texts",
        str(latency_texts),
        "--repeats",
        str(repeats),
    ]
    if data is not None:
        command += ["--data", str(data)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
            return {"bundle": str(bundle), "size_mb": bundle_size(bundle) / 1e6, **result}
        if line.startswith("ERROR "):
            raise BizlmError(f"Benchmark of {bundle} failed: {line.removeprefix('ERROR ')}")
    raise BizlmError(
        f"Benchmark of {bundle} failed (exit code {done.returncode}): "
        f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no output'}"
    )


def bench_bundles(
    bundles: Sequence[Path], data: Path | None = None, latency_texts: int = 100, repeats: int = 1
) -> list[dict[str, Any]]:
    """Measure every bundle, one after the other."""
    return [bench_bundle(Path(b), data, latency_texts, repeats) for b in bundles]


ROWS: tuple[tuple[str, str, str], ...] = (
    ("size on disk (MB)", "size_mb", "{:.1f}"),
    ("load (s)", "load_seconds", "{:.2f}"),
    ("latency p50, batch 1 (ms)", "latency_p50_ms", "{:.1f}"),
    ("latency p95, batch 1 (ms)", "latency_p95_ms", "{:.1f}"),
    ("throughput, batch 32 (texts/s)", "throughput_per_s", "{:.1f}"),
    ("peak RSS (MB)", "peak_rss_mb", "{:.0f}"),
    ("macro-F1", "macro_f1", "{:.4f}"),
    ("accuracy", "accuracy", "{:.4f}"),
    ("model GFLOP/s", "flops_per_s", "{:.1f}"),
)


def bench_table(results: Sequence[dict[str, Any]]) -> Table:
    """One column per bundle, one row per measurement."""
    table = Table("", *(Path(r["bundle"]).name for r in results), title="bizlm bench")
    table.add_row("runtime", *(_runtime(r) for r in results))
    for label, key, shape in ROWS:
        scale = 1e-9 if key == "flops_per_s" else 1.0
        cells = [shape.format(r[key] * scale) if r.get(key) is not None else "n/a" for r in results]
        table.add_row(label, *cells)
    table.add_row("scored on", *(f"{r['evaluated_on']} (n={r['texts']})" for r in results))
    return table


def _runtime(result: dict[str, Any]) -> str:
    quantize = result["quantize"]
    return result["runtime"] + ("" if quantize == "none" else f" {quantize}")
