"""Foundation benchmark: airline-tweets on the default model, 2 CPU cores.

Measures, side by side in one run:
  * full fine-tuning and LoRA (3 epochs max, early stopping): test accuracy and macro-F1,
    samples/s and peak RSS (each training in its own process so peak RSS is its own);
  * length-grouped dynamic padding against fixed padding to max_length, same loop, same data;
  * batched inference (batch 64, fp32) against a plain transformers forward loop.
Writes bench/results/classify.json. Run: python bench/classify.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bizlm.memory import rss_mib  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "classify.json"
TARGETS = {
    "full_accuracy": 0.83,
    "full_macro_f1": 0.76,
    "lora_gap_points": 2.0,
    "length_grouping_speedup": 1.3,
    "inference_ratio_vs_transformers": 1.0,
}


def train_in_subprocess(recipe: str, overrides: list[str]) -> dict[str, Any]:
    """Train in a fresh interpreter; return its metrics, throughput and peak RSS."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import bizlm\nfrom bizlm.memory import rss_mib\n"
        f"r = bizlm.train({recipe!r}, {overrides!r})\n"
        "t = r.info['training']\n"
        "print('RESULT ' + json.dumps({'accuracy': r.metrics['accuracy'], "
        "'macro_f1': r.metrics['macro_f1'], 'ece': r.metrics['ece'], "
        "'samples_per_s': t['samples_per_s'], 'train_seconds': t['train_seconds'], "
        "'optimizer_steps': t['optimizer_steps'], 'stopped_early': t['stopped_early'], "
        "'trainable_parameters': t['trainable_parameters'], 'peak_rss_mb': rss_mib(peak=True), "
        "'bundle': str(r.bundle)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"training failed: {done.stderr[-2000:]}")


def bundle_result(bundle: Path) -> dict[str, Any]:
    """The same figures, read back from a bundle this benchmark trained earlier (``--reuse``)."""
    info = json.loads((bundle / "bizlm.json").read_text())
    training, metrics = info["training"], info["metrics"]
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "ece": metrics["ece"],
        **{
            key: training[key]
            for key in (
                "samples_per_s",
                "train_seconds",
                "optimizer_steps",
                "stopped_early",
                "trainable_parameters",
                "peak_rss_mb",
            )
        },
        "bundle": str(bundle),
        "reused": True,
    }


def trained(recipe: str, overrides: list[str], bundle: Path, reuse: bool) -> dict[str, Any]:
    """Train (in a subprocess), or with ``reuse`` read back a finished bundle of the same run."""
    from bizlm.recipe import load_recipe

    overrides = [*overrides, f"output={bundle}"]
    info_path = bundle / "bizlm.json"
    if reuse and info_path.is_file():
        same = (
            json.loads(info_path.read_text())["recipe"] == load_recipe(recipe, overrides).resolved()
        )
        if same:
            return bundle_result(bundle)
    return train_in_subprocess(recipe, overrides)


def padding_comparison(examples: int, out_dir: Path, repeats: int = 2) -> dict[str, Any]:
    """One epoch on the same subset with grouped dynamic padding vs fixed max_length padding,
    alternated ``repeats`` times so both see the same machine load; best run of each kept."""
    common = [
        f"data.max_train_examples={examples}",
        "train.epochs=1",
        "train.early_stopping_patience=null",
    ]
    settings = {
        "grouped_dynamic": ["train.group_by_length=true", "train.padding=longest"],
        "fixed_max_length": ["train.group_by_length=false", "train.padding=max_length"],
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in settings}
    for repeat in range(repeats):
        for name, options in settings.items():
            output = f"output={out_dir}/padding-{name}-{repeat}"
            runs[name].append(
                train_in_subprocess("recipes/airline-lora.yaml", [*common, *options, output])
            )
    best = {name: max(results, key=lambda r: r["samples_per_s"]) for name, results in runs.items()}
    return {
        **best,
        "all_samples_per_s": {n: [r["samples_per_s"] for r in rs] for n, rs in runs.items()},
        "speedup": best["grouped_dynamic"]["samples_per_s"]
        / best["fixed_max_length"]["samples_per_s"],
    }


def inference_comparison(bundle: str, repeats: int = 3) -> dict[str, Any]:
    """bizlm predict (batch 64) against a plain transformers loop over the same test texts."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import bizlm
    from bizlm.data.catalog import fetch

    texts = [
        json.loads(x)["text"]
        for x in (fetch("airline-tweets") / "test.jsonl").read_text().split("\n")
        if x.strip()
    ]
    predictor = bizlm.load(bundle)
    model = AutoModelForSequenceClassification.from_pretrained(Path(bundle) / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(Path(bundle) / "model")

    def plain() -> None:
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                batch = tokenizer(
                    texts[start : start + 64],
                    padding=True,
                    truncation=True,
                    max_length=64,
                    return_tensors="pt",
                )
                model(**batch)

    def ours() -> None:
        predictor.predict_proba(texts, batch_size=64)

    timings: dict[str, list[float]] = {"bizlm": [], "transformers": []}
    for _ in range(repeats):  # interleaved, so both see the same machine load
        for name, run in (("transformers", plain), ("bizlm", ours)):
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    best = {name: min(values) for name, values in timings.items()}
    return {
        "texts": len(texts),
        "batch_size": 64,
        "bizlm_samples_per_s": len(texts) / best["bizlm"],
        "transformers_samples_per_s": len(texts) / best["transformers"],
        "ratio": best["transformers"] / best["bizlm"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 epoch on 2,000 examples.")
    parser.add_argument(
        "--reuse", action="store_true", help="Read back full/LoRA bundles already trained here."
    )
    parser.add_argument(
        "--padding-examples",
        type=int,
        default=1500,
        help="Training examples for the padding comparison.",
    )
    parser.add_argument(
        "--padding-repeats",
        type=int,
        default=2,
        help="Alternating repeats of the padding comparison.",
    )
    args = parser.parse_args()
    out_dir = ROOT / "runs" / "bench-classify"
    # One epoch keeps the run near a quarter of an hour on 2 cores; the target allows three.
    limit = ["data.max_train_examples=2000", "train.epochs=1"] if args.quick else ["train.epochs=1"]
    started = time.perf_counter()
    full = trained("recipes/airline-full.yaml", limit, out_dir / "full", args.reuse)
    lora = trained("recipes/airline-lora.yaml", limit, out_dir / "lora", args.reuse)
    padding = padding_comparison(
        500 if args.quick else args.padding_examples, out_dir, args.padding_repeats
    )
    inference = inference_comparison(lora["bundle"])
    results = {
        "benchmark": "classify",
        "dataset": "airline-tweets (fixed test split, 1,443 texts)",
        "model": "default (all-MiniLM-L6-v2)",
        "quick": args.quick,
        "machine": describe_machine(),
        "full_accuracy": full["accuracy"],
        "full_macro_f1": full["macro_f1"],
        "lora_accuracy": lora["accuracy"],
        "lora_macro_f1": lora["macro_f1"],
        "lora_gap_points": 100 * (full["macro_f1"] - lora["macro_f1"]),
        "length_grouping_speedup": padding["speedup"],
        "inference_ratio_vs_transformers": inference["ratio"],
        "full": full,
        "lora": lora,
        "padding": padding,
        "inference": inference,
        "targets": TARGETS,
        "bench_seconds": time.perf_counter() - started,
        "bench_peak_rss_mb": rss_mib(peak=True),
        "load_average_at_end": os.getloadavg(),
    }
    results["targets_met"] = {
        "full_accuracy": results["full_accuracy"] >= TARGETS["full_accuracy"],
        "full_macro_f1": results["full_macro_f1"] >= TARGETS["full_macro_f1"],
        "lora_within_2_points": results["lora_gap_points"] <= TARGETS["lora_gap_points"],
        "length_grouping_speedup": padding["speedup"] >= TARGETS["length_grouping_speedup"],
        "inference_ratio": inference["ratio"] >= TARGETS["inference_ratio_vs_transformers"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for key in (
        "full_accuracy",
        "full_macro_f1",
        "lora_accuracy",
        "lora_macro_f1",
        "lora_gap_points",
        "length_grouping_speedup",
        "inference_ratio_vs_transformers",
    ):
        print(f"{key:34s} {results[key]:.4f}")
    print(f"targets met: {results['targets_met']}")


if __name__ == "__main__":
    main()
