"""Learning-rate sweep behind the methods' default training settings.

For each method and learning rate, train the default model on several catalog sets (a capped,
stratified training sample, default epochs and warmup) and record validation and test macro-F1.
A method's default is chosen on *validation* macro-F1 over the sets every rate ran on: of the
rates within a point of the best mean, the one with the best worst set (see ``choose``). Test
scores are recorded beside them but play no part in the choice.

Run: python bench/defaults_sweep.py [--sets a,b] [--methods lora,full] [--work DIR]
Writes bench/results/defaults-sweep.json (cells already there are kept and skipped).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "defaults-sweep.json"
SETS = ("airline-tweets", "trec", "bbc-news", "rotten-tomatoes")
RATES = {
    "lora": (5e-4, 1e-3, 2e-3, 4e-3),
    "full": (5e-5, 1e-4, 2e-4),
}
TRAIN_EXAMPLES = 1500
TIE_POINTS = 1.0  # mean validation macro-F1 points within which rates count as tied
VALIDATION_EXAMPLES = 500


def run_cell(dataset: str, method: str, rate: float, work: Path) -> dict[str, Any]:
    """Train one (set, method, rate) cell and return its scores and cost."""
    import bizlm

    recipe = {
        "model": "default",
        "data": {
            "catalog": dataset,
            "max_train_examples": TRAIN_EXAMPLES,
            "max_validation_examples": VALIDATION_EXAMPLES,
        },
        "method": method,
        "train": {"learning_rate": rate, "max_length": 128},
        "output": str(work / f"{dataset}-{method}-{rate:g}"),
    }
    result = bizlm.train(recipe)
    training = result.info["training"]
    return {
        "dataset": dataset,
        "method": method,
        "learning_rate": rate,
        "validation_macro_f1": result.metrics["validation"]["macro_f1"],
        "test_macro_f1": result.metrics["macro_f1"],
        "train_seconds": training["train_seconds"],
        "optimizer_steps": training["optimizer_steps"],
    }


def choose(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method: mean and worst validation macro-F1 of every rate over the sets that every
    rate of the method ran on, and the chosen rate: among the rates within
    :data:`TIE_POINTS` of the best mean, the one whose worst set scores highest (a default
    must not fail on some data to gain a fraction of a point on average)."""
    chosen: dict[str, Any] = {}
    for method in sorted({c["method"] for c in cells}):
        mine = [c for c in cells if c["method"] == method]
        rates = sorted({c["learning_rate"] for c in mine})
        common = set.intersection(
            *({c["dataset"] for c in mine if c["learning_rate"] == r} for r in rates)
        )
        scores = {
            rate: [
                c["validation_macro_f1"]
                for c in mine
                if c["learning_rate"] == rate and c["dataset"] in common
            ]
            for rate in rates
        }
        means = {rate: statistics.mean(values) for rate, values in scores.items()}
        top = max(means.values())
        close = [rate for rate in rates if means[rate] >= top - TIE_POINTS / 100]
        best = max(close, key=lambda rate: min(scores[rate]))
        chosen[method] = {
            "sets": sorted(common),
            "mean_validation_macro_f1": {f"{r:g}": round(m, 4) for r, m in means.items()},
            "worst_validation_macro_f1": {f"{r:g}": round(min(s), 4) for r, s in scores.items()},
            "best_learning_rate": best,
        }
    return chosen


def main() -> None:
    """Run the missing cells and rewrite the results file after each one."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--methods", default=",".join(RATES))
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-defaults-sweep")
    args = parser.parse_args()
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    cells: list[dict[str, Any]] = saved.get("cells", [])
    done = {(c["dataset"], c["method"], c["learning_rate"]) for c in cells}
    started = time.perf_counter()
    for method in args.methods.split(","):
        for rate in RATES[method]:
            for dataset in args.sets.split(","):
                if (dataset, method, rate) in done:
                    continue
                cells.append(run_cell(dataset, method, rate, args.work))
                payload = {
                    "benchmark": "defaults-sweep",
                    "model": "default (all-MiniLM-L6-v2)",
                    "protocol": f"{TRAIN_EXAMPLES} training examples (stratified sample), "
                    f"{VALIDATION_EXAMPLES} validation, whole test split; max_length 128; "
                    "the schema's other train defaults; seed 42; choice by mean validation "
                    "macro-F1",
                    "machine": describe_machine(),
                    "cells": cells,
                    "chosen": choose(cells),
                    "last_run_seconds": round(time.perf_counter() - started, 1),
                }
                RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
                print(json.dumps(cells[-1]), flush=True)


if __name__ == "__main__":
    main()
