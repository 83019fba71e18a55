"""Continual-learning benchmark: class-incremental streams, every strategy against joint training.

For each dataset, ``bizlm data stream`` cuts 5 class-incremental stages (trec: fine labels, 10 per
stage; bbc-news: one topic per stage). Stage 0 is trained with ``bizlm train`` (full fine-tuning
of the default model); then every strategy (naive, replay, ewc, lwf, adapters) runs the 4 updates
from that same stage-0 bundle, with a replay memory of 20 examples per label. Joint training on
all stages at once is the upper bound. The figure compared is the final average accuracy (mean
of the last row of the accuracy matrix over the stages' test splits) and backward transfer.

Run one dataset per core:  python bench/continual.py --dataset trec  (and --dataset bbc-news)
then combine:              python bench/continual.py --combine
Bundles already in the work folder are read back rather than retrained, so several processes can
share one dataset (--strategies, --skip-joint) and a last run with every strategy collects them.
Times are the training seconds recorded in the bundles (evaluation and loading left out).
Per-dataset results go to bench/results/continual-<dataset>.json; the combined figures
(``gap_to_joint``, ``naive_bwt``, ``best_strategy``) to bench/results/continual.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.scale import write_results  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STRATEGIES = ("naive", "replay", "ewc", "lwf", "adapters")
DATASETS = {
    "trec": {"label_column": "label_fine", "max_length": 48},
    "bbc-news": {"label_column": "label", "max_length": 128},
}
STAGES = 5
MEMORY_PER_CLASS = 20


def _recipe(stage: Path, labels: list[str], settings: dict[str, Any], output: Path) -> dict:
    return {
        "model": "default",
        "task": {"labels": labels, "label_column": settings["label_column"]},
        "data": {
            "train": str(stage / "train.jsonl"),
            "validation": str(stage / "validation.jsonl"),
            "test": str(stage / "test.jsonl"),
        },
        "method": {"name": "full"},
        "train": {
            "epochs": settings["epochs"],
            "batch_size": 16,
            "learning_rate": settings["learning_rate"],
            "warmup_ratio": 0.1,
            "max_length": settings["max_length"],
            "early_stopping_patience": None,
        },
        "continual": {"memory_per_class": MEMORY_PER_CLASS, "eval_per_stage": 100_000},
        "output": str(output),
    }


def _stage_accuracies(bundle: Path, stream: Path, label_column: str) -> list[float]:
    """Accuracy of a bundle on each stage's test split."""
    import bizlm

    predictor = bizlm.load(bundle)
    accuracies = []
    for index in range(STAGES):
        rows = [json.loads(line) for line in (stream / f"stage-{index}" / "test.jsonl").open()]
        predicted = predictor.predict([row["text"] for row in rows])
        gold = [str(row[label_column]) for row in rows]
        accuracies.append(
            sum(p["label"] == g for p, g in zip(predicted, gold, strict=True)) / len(rows)
        )
    return accuracies


def _info(bundle: Path) -> dict[str, Any] | None:
    """A finished bundle's bizlm.json, or None when it is not there yet."""
    path = bundle / "bizlm.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _train_seconds(info: dict[str, Any]) -> float:
    return float(info["training"]["train_seconds"])


def _joint(stream: Path, manifest: dict, settings: dict[str, Any], folder: Path) -> dict:
    """Train on every stage at once (unless done before); score each stage's test split."""
    import bizlm

    joint = folder / "joint-data"
    joint.mkdir(parents=True, exist_ok=True)
    for split in ("train", "validation", "test"):
        parts = [(stream / f"stage-{k}" / f"{split}.jsonl").read_text() for k in range(STAGES)]
        (joint / f"{split}.jsonl").write_text("".join(parts))
    labels = [label for stage in manifest["stages"] for label in stage["labels"]]
    if _info(folder / "joint") is None:
        bizlm.train(_recipe(joint, labels, settings, folder / "joint"))
    accuracies = _stage_accuracies(folder / "joint", stream, settings["label_column"])
    return {
        "stage_accuracy": accuracies,
        "average_accuracy": statistics.fmean(accuracies),
        "train_seconds": round(_train_seconds(_info(folder / "joint")), 1),
    }


def _stream(name: str, settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    from bizlm.continual.stream import MANIFEST, write_stream

    if (folder / MANIFEST).is_file():
        return json.loads((folder / MANIFEST).read_text())
    return write_stream(name, STAGES, folder, seed=13, label_column=settings["label_column"])


def _strategy(strategy: str, stream: Path, folder: Path) -> dict[str, Any]:
    """The four updates of one strategy from stage 0 (bundles already written are reused)."""
    from bizlm.continual.update import update

    parent, seconds = folder / "stage-0", 0.0
    for index in range(1, STAGES):
        stage = stream / f"stage-{index}"
        output = folder / strategy / f"stage-{index}"
        overrides = [f"data.{part}={stage / f'{part}.jsonl'}" for part in ("validation", "test")]
        info = (
            _info(output) or update(parent, stage / "train.jsonl", output, strategy, overrides).info
        )
        seconds += _train_seconds(info)
        parent = output
    record = info["continual"]
    return {
        "matrix": record["matrix"],
        "average_accuracy": record["summary"]["average_accuracy"],
        "bwt": record["summary"]["bwt"],
        "max_forgetting": record["summary"]["max_forgetting"],
        "update_train_seconds": round(seconds, 1),
    }


def run_dataset(name: str, settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Stage 0, then every strategy's updates from it, then joint training."""
    import bizlm

    stream = folder / "stream"
    manifest = _stream(name, settings, stream)
    first = manifest["stages"][0]["labels"]
    if _info(folder / "stage-0") is None:
        bizlm.train(_recipe(stream / "stage-0", first, settings, folder / "stage-0"))
    results: dict[str, Any] = {}
    for strategy in settings["strategies"]:
        results[strategy] = _strategy(strategy, stream, folder)
        print(name, strategy, results[strategy]["average_accuracy"], results[strategy]["bwt"])
    if settings["skip_joint"]:
        return {"dataset": name, "strategies": results}
    joint = _joint(stream, manifest, settings, folder)
    best = max(results, key=lambda s: results[s]["average_accuracy"])
    return {
        "dataset": name,
        "stages": manifest["stages"],
        "settings": {**settings, "memory_per_class": MEMORY_PER_CLASS, "method": "full"},
        "stage0_train_seconds": round(_train_seconds(_info(folder / "stage-0")), 1),
        "strategies": results,
        "joint": joint,
        "best_strategy": best,
        "gap_to_joint": round(
            100 * (joint["average_accuracy"] - results[best]["average_accuracy"]), 2
        ),
        "machine": describe_machine(),
    }


def combine() -> dict[str, Any]:
    """The per-dataset results together, with the headline keys."""
    per_dataset = {}
    for name in DATASETS:
        path = RESULTS / f"continual-{name}.json"
        if path.is_file():
            per_dataset[name] = json.loads(path.read_text())
    if not per_dataset:
        raise SystemExit("no per-dataset results yet: run with --dataset first")
    strategies = set.intersection(*(set(r["strategies"]) for r in per_dataset.values()))
    mean_accuracy = {
        s: statistics.fmean(r["strategies"][s]["average_accuracy"] for r in per_dataset.values())
        for s in strategies
    }
    best = max(mean_accuracy, key=mean_accuracy.get)
    return {
        "gap_to_joint": max(
            100 * (r["joint"]["average_accuracy"] - r["strategies"][best]["average_accuracy"])
            for r in per_dataset.values()
        ),
        "naive_bwt": max(r["strategies"]["naive"]["bwt"] for r in per_dataset.values()),
        "best_strategy": best,
        "mean_average_accuracy": mean_accuracy,
        "datasets": {
            name: {
                "joint_average_accuracy": r["joint"]["average_accuracy"],
                "best_strategy": r["best_strategy"],
                "gap_to_joint": r["gap_to_joint"],
                "strategies": {
                    s: {k: v[k] for k in ("average_accuracy", "bwt", "update_train_seconds")}
                    for s, v in r["strategies"].items()
                },
            }
            for name, r in per_dataset.items()
        },
        "machine": next(iter(per_dataset.values()))["machine"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    parser.add_argument("--combine", action="store_true", help="Write continual.json.")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--skip-joint", action="store_true", help="Strategies only; no JSON.")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-continual")
    args = parser.parse_args()
    if args.combine:
        figures = combine()
        write_results(RESULTS / "continual.json", figures)
        print(json.dumps({k: figures[k] for k in ("gap_to_joint", "naive_bwt", "best_strategy")}))
        return
    if args.dataset is None:
        parser.error("give --dataset NAME or --combine")
    settings = {
        **DATASETS[args.dataset],
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "strategies": args.strategies.split(","),
        "skip_joint": args.skip_joint,
    }
    figures = run_dataset(args.dataset, settings, args.work / args.dataset)
    if args.skip_joint:
        return
    write_results(RESULTS / f"continual-{args.dataset}.json", figures)
    print(
        f"{args.dataset}: best {figures['best_strategy']}, gap to joint {figures['gap_to_joint']}"
    )


if __name__ == "__main__":
    main()
