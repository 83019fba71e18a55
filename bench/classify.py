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
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine, peak_rss_mb  # noqa: E402

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
        "import bizlm\nfrom bench.machine import peak_rss_mb\n"
        f"r = bizlm.train({recipe!r}, {overrides!r})\n"
        "t = r.info['training']\n"
        "print('RESULT ' + json.dumps({'accuracy': r.metrics['accuracy'], "
        "'macro_f1': r.metrics['macro_f1'], 'ece': r.metrics['ece'], "
        "'samples_per_s': t['samples_per_s'], 'train_seconds': t['train_seconds'], "
        "'optimizer_steps': t['optimizer_steps'], 'stopped_early': t['stopped_early'], "
        "'trainable_parameters': t['trainable_parameters'], 'peak_rss_mb': peak_rss_mb(), "
        "'bundle': str(r.bundle)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"training failed: {done.stderr[-2000:]}")


def padding_comparison(examples: int, out_dir: Path) -> dict[str, Any]:
    """One epoch on the same subset with grouped dynamic padding vs fixed max_length padding."""
    common = [
        f"data.max_train_examples={examples}",
        "train.epochs=1",
        "train.early_stopping_patience=null",
    ]
    grouped = train_in_subprocess(
        "recipes/airline-lora.yaml",
        [
            *common,
            "train.group_by_length=true",
            "train.padding=longest",
            f"output={out_dir}/grouped",
        ],
    )
    fixed = train_in_subprocess(
        "recipes/airline-lora.yaml",
        [
            *common,
            "train.group_by_length=false",
            "train.padding=max_length",
            f"output={out_dir}/fixed",
        ],
    )
    return {
        "grouped_dynamic": grouped,
        "fixed_max_length": fixed,
        "speedup": grouped["samples_per_s"] / fixed["samples_per_s"],
    }


def inference_comparison(bundle: str, repeats: int = 3) -> dict[str, Any]:
    """bizlm predict (batch 64) against a plain transformers loop over the same test texts."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import bizlm
    from bizlm.data.catalog import fetch

    texts = [
        json.loads(x)["text"]
        for x in (fetch("airline-tweets") / "test.jsonl").read_text().splitlines()
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
    args = parser.parse_args()
    out_dir = ROOT / "runs" / "bench-classify"
    limit = ["data.max_train_examples=2000", "train.epochs=1"] if args.quick else []
    started = time.perf_counter()
    full = train_in_subprocess("recipes/airline-full.yaml", [*limit, f"output={out_dir}/full"])
    lora = train_in_subprocess("recipes/airline-lora.yaml", [*limit, f"output={out_dir}/lora"])
    padding = padding_comparison(1000 if args.quick else 3000, out_dir)
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
        "bench_peak_rss_mb": peak_rss_mb(),
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
