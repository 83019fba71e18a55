"""Task benchmark: Chinese NER (msra-ner), Chinese topics (thucnews), English NER (wnut16).

Trains each recipe once and records its held-out scores, training samples/s and peak RSS.
Writes bench/results/<name>.json. Run: python bench/tasks.py [--only msra,thucnews,wnut16]
[--set key=value ...] (overrides apply to every recipe, e.g. to shorten a trial run).
`--rescore` trains nothing: it scores the bundles the last run left in runs/bench-tasks/ again
with the current code (after a change in decoding or metrics) and updates the scores in the
JSON, keeping the previous ones under `rescored.previous`. It redoes the post-training
calibration on validation (such as a tagger's tag prior) before scoring, as training does.
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

from bench.machine import describe_machine  # noqa: E402

RUNS = {
    "msra": ("recipes/msra-ner.yaml", "f1", 0.85),
    "thucnews": ("recipes/thucnews.yaml", "accuracy", 0.85),
    "wnut16": ("recipes/wnut16-tag.yaml", "f1", None),  # reported, no target
}
_WORKER = """
import json, sys
sys.path.insert(0, {root!r})
import bizlm
r = bizlm.train({recipe!r}, {overrides!r})
print("RESULT " + json.dumps({{"metrics": r.metrics, "training": r.info["training"],
    "data": r.info["data"].get("counts"), "warnings": r.info["data"].get("warnings", []),
    "calibration": r.info.get("calibration"), "bundle": str(r.bundle)}}))
"""
_RESCORE_WORKER = """
import json, sys
sys.path.insert(0, {root!r})
import bizlm
from bizlm.bundle import read_bundle_info
from bizlm.training.prepare import prepare_data
from bizlm.recipe import load_recipe
from bizlm.tasks import build_task
from bizlm.training.documents import headline_metrics
from bizlm.training.scoring import calibrate_and_score
recipe = load_recipe(read_bundle_info({bundle!r}).recipe, [])
task, predictor, data = build_task(recipe.task), bizlm.load({bundle!r}), prepare_data(recipe)
calibration, scores = calibrate_and_score(task, predictor, data)
print("RESULT " + json.dumps({{"metrics": headline_metrics(scores), "calibration": calibration}}))
"""


def rescore_one(name: str) -> dict[str, Any]:
    """Score the bundle of the last run of ``name`` again; update its JSON record."""
    path = ROOT / "bench" / "results" / f"{name}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    bundle = ROOT / "runs" / "bench-tasks" / name
    started = time.perf_counter()
    code = _RESCORE_WORKER.format(root=str(ROOT), bundle=str(bundle))
    result = _worker_result(code, f"{name} rescoring")
    metrics, metric = result["metrics"], RUNS[name][1]
    validation = record["metrics"].get("validation") or {}
    previous = {metric: record[metric], f"validation_{metric}": validation.get(metric)}
    record.update(_scores(name, metrics))
    record["calibration"] = result["calibration"]
    record["rescored"] = {
        "previous": previous,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": describe_machine(),
    }
    return record


def _worker_result(code: str, what: str) -> dict[str, Any]:
    """Run a worker script in a fresh process; return the JSON of its ``RESULT`` line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"{what} failed: {done.stderr[-3000:]}")
    return json.loads(lines[0][len("RESULT ") :])


def _scores(name: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """The record's score fields: the headline metric, all metrics, the target verdict and
    (for taggers) F1 per entity type."""
    _, metric, target = RUNS[name]
    scores = {
        metric: metrics[metric],
        "metrics": metrics,
        "target_met": None if target is None else metrics[metric] >= target,
    }
    if "per_type" in metrics:
        scores["per_type_f1"] = {k: v["f1"] for k, v in metrics["per_type"].items()}
    return scores


def run_one(name: str, overrides: list[str]) -> dict[str, Any]:
    """Train one recipe in a fresh process (so peak RSS is its own) and collect its figures."""
    recipe, metric, target = RUNS[name]
    output = f"output=runs/bench-tasks/{name}"
    code = _WORKER.format(root=str(ROOT), recipe=recipe, overrides=[*overrides, output])
    started = time.perf_counter()
    result = _worker_result(code, name)
    metrics, training = result["metrics"], result["training"]
    return {
        "dataset": name,
        "recipe": recipe,
        "overrides": overrides,
        **_scores(name, metrics),
        "evaluated_on": metrics["evaluated_on"],
        "train_samples_per_s": training["samples_per_s"],
        "peak_rss_mb": training["peak_rss_mb"],
        "train_seconds": training["train_seconds"],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "trainable_parameters": training["trainable_parameters"],
        "total_parameters": training["total_parameters"],
        "examples": result["data"],
        "data_warnings": result["warnings"],
        "calibration": result["calibration"],
        "target": {metric: target} if target is not None else None,
        "machine": describe_machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(RUNS))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--rescore", action="store_true", help="Score the last bundles again.")
    args = parser.parse_args()
    for name in args.only.split(","):
        record = rescore_one(name) if args.rescore else run_one(name, args.overrides)
        path = ROOT / "bench" / "results" / f"{name}.json"
        path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        metric = RUNS[name][1]
        print(
            f"{name}: {metric} {record[metric]:.4f} on {record['evaluated_on']}, "
            f"{record['train_samples_per_s']:.1f} samples/s, "
            f"peak RSS {record['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
