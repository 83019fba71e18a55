"""Scale-out benchmark: `bizlm predict --engine ray` against the single-process `--input` path.

The same bundle and texts (airline-tweets, repeated to --texts rows, cut into --files CSV files)
predicted by each path in its own process, one after the other:
  * local: ``predict_file`` on each file in turn, the bundle loaded once (``bizlm predict
    --input``), torch on --threads threads;
  * ray: ``predict_files_on_ray`` over the folder, a local Ray of --actors CPUs started and
    stopped by the job (``bizlm predict --engine ray``).
Each is timed from the start of its work (bundle loading, Ray's start included) to its last file
written; texts/s is texts over that time. Peak RSS is the process and all its children (Ray's
GCS, raylet and workers), sampled every 0.2 s. Figures:
  * ray_vs_local_ratio: Ray texts/s over single-process texts/s;
  * ray_vs_local_peak_rss_pct: how much higher the Ray path's peak RSS is than local, %;
  * labels_agree: share of rows whose label is the same in both outputs.
Writes bench/results/scale_out.json.
Run: BIZLM_HOME=... python bench/scale_out.py --bundle runs/quickstart [--actors 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.scale import write_results  # noqa: E402
from bench.serve import load_texts  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scale_out.json"
SAMPLE_SECONDS = 0.2


def write_inputs(folder: Path, count: int, files: int) -> None:
    """``count`` airline tweets (the test split repeated) as ``files`` CSV files of id, text."""
    texts = load_texts()
    rows = [{"id": str(i), "text": texts[i % len(texts)]} for i in range(count)]
    size = -(-count // files)
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, count, size)):
        with open(folder / f"part-{number}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "text"])
            writer.writeheader()
            writer.writerows(rows[start : start + size])


def run_path(args: argparse.Namespace) -> dict[str, Any]:
    """One path's work in this process (the child): its seconds and rows."""
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    if args.path == "local":
        from bizlm.predict_files import predict_file
        from bizlm.predictor import load

        predictor = load(args.bundle)
        rows = 0
        for source in sorted(Path(args.inputs).glob("*.csv")):
            target = Path(args.output) / f"{source.stem}.jsonl"
            rows += predict_file(predictor, source, None, target, show_progress=False)["rows"]
    else:
        from bizlm.batch import predict_files_on_ray

        summary = predict_files_on_ray(
            args.bundle, args.inputs, args.output, actors=args.actors, show_progress=False
        )
        rows = summary["rows"]
    return {"seconds": time.perf_counter() - started, "rows": rows}


def measure(args: argparse.Namespace, path: str, inputs: Path, output: Path) -> dict[str, Any]:
    """Run one path in a child process; its timing, texts/s and peak RSS (with children)."""
    import psutil

    command = [sys.executable, __file__, "--path", path, "--bundle", args.bundle]
    command += ["--inputs", str(inputs), "--output", str(output)]
    command += ["--actors", str(args.actors), "--threads", str(args.threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(_rss(p) for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(SAMPLE_SECONDS)
    stdout, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the {path} path failed (exit code {child.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["texts_per_second"] = round(result["rows"] / result["seconds"], 1)
    result["seconds"] = round(result["seconds"], 1)
    result["peak_rss_mb"] = round(peak / 1e6, 1)
    return result


def _rss(process: Any) -> int:
    try:
        return process.memory_info().rss
    except Exception:  # the process ended between listing and reading it
        return 0


def labels_agree(local: Path, ray_parts: Path) -> float:
    """Share of rows with the same predicted label in the local and the Ray outputs."""
    import pyarrow.parquet as pq

    same = total = 0
    for part in sorted(local.glob("*.jsonl")):
        lines = part.read_text("utf-8").split("\n")  # not splitlines(): tweets hold U+2028
        local_labels = [json.loads(line)["predicted_label"] for line in lines if line.strip()]
        ray_labels = pq.read_table(ray_parts / f"{part.stem}.csv.parquet").column("predicted_label")
        same += sum(a == b for a, b in zip(local_labels, ray_labels.to_pylist(), strict=True))
        total += len(local_labels)
    return round(same / total, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", required=True, help="Bundle folder.")
    parser.add_argument("--texts", type=int, default=20000, help="Texts to predict.")
    parser.add_argument("--files", type=int, default=4, help="Input files they are cut into.")
    parser.add_argument("--actors", type=int, default=1, help="Ray actors (local Ray CPUs).")
    parser.add_argument("--threads", type=int, default=1, help="Torch threads of each process.")
    parser.add_argument("--note", default="", help="A word on the machine's load, recorded.")
    parser.add_argument("--path", choices=["local", "ray"], help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path:
        print(json.dumps(run_path(args)))
        return
    with tempfile.TemporaryDirectory() as folder:
        inputs, local, ray_parts = (Path(folder) / name for name in ("in", "local", "ray"))
        write_inputs(inputs, args.texts, args.files)
        local.mkdir()
        single = measure(args, "local", inputs, local)
        on_ray = measure(args, "ray", inputs, ray_parts)
        agree = labels_agree(local, ray_parts)
    figures = {
        "bundle": args.bundle,
        "texts": args.texts,
        "files": args.files,
        "actors": args.actors,
        "threads": args.threads,
        "local": single,
        "ray": on_ray,
        "ray_vs_local_ratio": round(on_ray["texts_per_second"] / single["texts_per_second"], 3),
        "ray_vs_local_peak_rss_pct": round(
            100 * (on_ray["peak_rss_mb"] / single["peak_rss_mb"] - 1), 1
        ),
        "labels_agree": agree,
        "note": args.note,
        "machine": describe_machine(),
    }
    write_results(RESULTS, figures)
    print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
