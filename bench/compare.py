"""Methods benchmark: `bizlm compare` on bbc-news and airline-tweets, default model, 3 seeds.

Every method trains on the same data, splits and budget: a stratified sample of the training
split for 4 epochs, so the whole matrix fits a 2-core CPU in under an hour (about 32 min for
bbc-news and 22 for airline-tweets). Full fine-tuning and LoRA train at the rates that did best
in a sweep at this budget (full: 1e-4, 2e-4, 4e-4; LoRA: 1e-3, 2e-3). Writes
bench/results/compare-<dataset>.json (the leaderboard plus the LoRA figures) and copies the
leaderboard markdown and plot next to it. Run: python bench/compare.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bizlm.compare.run import compare  # noqa: E402

METHODS = ["full", "lora", "adalora", "ia3", "prefix", "bitfit", "head"]
BUDGETS = {  # recipe, overrides: same for every method
    "airline-tweets": (
        "recipes/airline-lora.yaml",
        ["data.max_train_examples=800", "data.max_validation_examples=400", "train.epochs=4"],
    ),
    "bbc-news": (
        "recipes/bbc-lora.yaml",
        ["data.max_train_examples=400", "train.epochs=4", "train.max_length=96"],
    ),
}
# Methods not named here train at the recipe's 1e-3.
LEARNING_RATES = {"full": 2e-4, "lora": 2e-3, "bitfit": 1e-3, "head": 1e-3}
TARGETS = {
    "lora_f1_gap": 1.5,
    "lora_trainable_pct": 1.0,
    "lora_artifact_ratio": 0.05,
    "lora_rss_ratio": 0.75,
}


def run_dataset(name: str, seeds: int) -> dict[str, Any]:
    """The leaderboard of one dataset, with each method at its usual learning rate."""
    recipe, overrides = BUDGETS[name]
    output = ROOT / "runs" / "bench-compare" / name
    rows = []
    for method in METHODS:
        rate = LEARNING_RATES.get(method)
        extra = [f"train.learning_rate={rate}"] if rate else []
        rows += compare(recipe, [method], seeds, output, [*overrides, *extra])["rows"]
    from bizlm.compare.leaderboard import mark_pareto, scatter_png, to_markdown

    mark_pareto(rows)
    title = f"{name}: methods at the same budget ({seeds} seeds)"
    results_dir = ROOT / "bench" / "results"
    (results_dir / f"compare-{name}.md").write_text(to_markdown(rows, title))
    scatter_png(rows, str(results_dir / f"compare-{name}.png"), title)
    by_method = {row["method"]: row for row in rows}
    full, lora = by_method["full"], by_method["lora"]
    return {
        "dataset": name,
        "recipe": recipe,
        "overrides": overrides,
        "seeds": seeds,
        "learning_rates": {m: LEARNING_RATES.get(m, 1e-3) for m in METHODS},
        "lora_f1_gap": 100 * (full["macro_f1"] - lora["macro_f1"]),
        "lora_trainable_pct": lora["trainable_pct"],
        "lora_artifact_ratio": lora["artifact_bytes"] / full["bundle_bytes"],
        "lora_rss_ratio": lora["peak_rss_mb"] / full["peak_rss_mb"],
        "leaderboard": rows,
        "targets": TARGETS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default="airline-tweets,bbc-news")
    args = parser.parse_args()
    machine = describe_machine()
    for name in args.datasets.split(","):
        started = time.perf_counter()
        result = run_dataset(name, args.seeds)
        result["machine"] = machine
        result["bench_seconds"] = time.perf_counter() - started
        result["targets_met"] = {
            "lora_f1_gap": result["lora_f1_gap"] <= TARGETS["lora_f1_gap"],
            "lora_trainable_pct": result["lora_trainable_pct"] < TARGETS["lora_trainable_pct"],
            "lora_artifact_ratio": result["lora_artifact_ratio"] < TARGETS["lora_artifact_ratio"],
            "lora_rss_ratio": result["lora_rss_ratio"] <= TARGETS["lora_rss_ratio"],
        }
        path = ROOT / "bench" / "results" / f"compare-{name}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(
            f"{name}: LoRA gap {result['lora_f1_gap']:.2f} points, trainable "
            f"{result['lora_trainable_pct']:.2f}%, artifact {result['lora_artifact_ratio']:.3f}"
            f", RSS {result['lora_rss_ratio']:.2f}; met {result['targets_met']}"
        )
    shutil.rmtree(ROOT / "runs" / "bench-compare", ignore_errors=True)


if __name__ == "__main__":
    main()
