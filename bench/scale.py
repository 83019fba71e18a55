"""Scaling benchmark, data-parallel part: the same training in 2 processes (DDP) and in 1.

airline-tweets, 400 training examples, 1 epoch, the default model with its dropout off: one
process with batch_size 2B against 2 processes (gloo on CPU, NCCL on GPUs) with B each, so both
take the same optimizer steps over the same batches (400 examples fill whole batches of 40).
Reports training samples/s of each (evaluation excluded) and whether the final weights agree
within a tolerance: the processes pad their slices and sum gradients in other orders, so not bit
for bit. Each run is its own `bizlm train` process, one after the other; on a shared machine
compare the two figures, not absolute numbers.
Writes (updates) bench/results/scale.json. Run: python bench/scale.py [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scale.json"
RECIPE = "recipes/airline-full.yaml"
TOLERANCE = 1e-4  # largest absolute difference of any weight for "the same training"


def without_dropout(reference: str, folder: Path) -> Path:
    """A copy of the model (weights linked, not copied) whose config turns every dropout off."""
    from bizlm.backbones import resolve_model

    location = Path(resolve_model(reference))
    target = folder / "model-without-dropout"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for item in location.iterdir():
        if item.name != "config.json":
            (target / item.name).symlink_to(item.resolve())
    config = json.loads((location / "config.json").read_text(encoding="utf-8"))
    for key, value in config.items():
        if "dropout" in key and isinstance(value, float):
            config[key] = 0.0
    (target / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return target


def train_cli(arguments: list[str]) -> dict[str, Any]:
    """Run ``bizlm train ARGUMENTS --json`` in a fresh process; return its bundle's record."""
    command = [sys.executable, "-c", "from bizlm.cli import main; main()", "train", *arguments]
    done = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode:
        raise RuntimeError(f"bizlm train {' '.join(arguments)} failed: {done.stderr[-3000:]}")
    bundle = Path(json.loads(done.stdout)["bundle"])
    info = json.loads((bundle / "bizlm.json").read_text(encoding="utf-8"))
    return {"bundle": bundle, **info["training"]}


def largest_difference(first: Path, second: Path) -> float:
    """The largest absolute difference between the weights of two bundles' models."""
    from safetensors.torch import load_file

    one = load_file(first / "model" / "model.safetensors")
    other = load_file(second / "model" / "model.safetensors")
    if one.keys() != other.keys():
        return float("inf")
    return max(float((one[name] - other[name]).abs().max()) for name in one)


def ddp_part(
    model: str, examples: int, processes: int, batch_size: int, folder: Path
) -> dict[str, Any]:
    """Train once in ``processes`` processes (``batch_size`` each) and once in one process
    (``batch_size * processes``); their throughput and whether their weights agree."""
    common = [
        RECIPE,
        *("--set", f"model={without_dropout(model, folder)}"),
        *("--set", f"data.max_train_examples={examples}"),
        *("--set", "data.max_validation_examples=400"),
        *("--set", "train.epochs=1"),
    ]
    single = train_cli(
        [
            *common,
            *("--set", f"train.batch_size={batch_size * processes}"),
            *("--output", str(folder / "single")),
        ]
    )
    ddp = train_cli(
        [
            *common,
            *("--set", f"train.batch_size={batch_size}"),
            *("--processes", str(processes)),
            *("--output", str(folder / "ddp")),
        ]
    )
    difference = largest_difference(single["bundle"], ddp["bundle"])
    return {
        "ddp_matches_single": difference <= TOLERANCE,
        "ddp_samples_per_s": ddp["samples_per_s"],
        "single_samples_per_s": single["samples_per_s"],
        "ddp_speedup": round(ddp["samples_per_s"] / single["samples_per_s"], 3),
        "ddp_largest_weight_difference": difference,
        "ddp_tolerance": TOLERANCE,
        "ddp_settings": {
            "model": model,
            "dataset": "airline-tweets",
            "train_examples": examples,
            "epochs": 1,
            "processes": processes,
            "batch_size_per_process": batch_size,
            "optimizer_steps": [single["optimizer_steps"], ddp["optimizer_steps"]],
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
    }


def write_results(path: Path, figures: dict[str, Any]) -> None:
    """Merge ``figures`` into the JSON at ``path`` (other parts' keys stay), atomically."""
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    results.update(figures)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default", help="Backbone (alias or folder).")
    parser.add_argument("--examples", type=int, default=400, help="Training examples.")
    parser.add_argument("--processes", type=int, default=2, help="Processes of the DDP run.")
    parser.add_argument("--batch-size", type=int, default=20, help="Batch size per process.")
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results JSON to update.")
    args = parser.parse_args()
    folder = ROOT / "runs" / "bench-scale"
    figures = ddp_part(args.model, args.examples, args.processes, args.batch_size, folder)
    write_results(args.output, {"benchmark": "scale", **figures, "machine": describe_machine()})
    print(f"{'run':<22}{'samples/s':>12}")
    print(f"{'1 process':<22}{figures['single_samples_per_s']:>12.1f}")
    print(f"{f'{args.processes} processes (DDP)':<22}{figures['ddp_samples_per_s']:>12.1f}")
    print(
        f"weights agree: {figures['ddp_matches_single']} "
        f"(largest difference {figures['ddp_largest_weight_difference']:.2e})"
    )


if __name__ == "__main__":
    main()
