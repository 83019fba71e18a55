"""Few-shot and zero-shot benchmark: bizlm ``fewshot`` against the SetFit library on the same
K-shot samples, and bizlm ``zeroshot`` (embedding and generative) on the same test texts.

Per dataset: a fixed, stratified test sample (``--test-size``) and a 50-text validation file;
for each K and seed, K examples per label are drawn from the training split (``data.shots``'s
sampler, seeded) and written to one file that both systems train on. Both run single-threaded
with the default backbone (all-MiniLM-L6-v2) and the same max length. SetFit runs in its own
environment (``make bench-env`` creates ``.venv-setfit``) with its default training arguments;
its time is ``Trainer.train``, bizlm's the training seconds its bundle records (encoder tuning
and head fitting; loading and scoring left out of both). Zero-shot uses no training example:
embedding mode is scored on the test sample; generative mode (one LM pass per text) on a
stratified 100-text part of it, with the 50 validation texts deciding ``calibrate: auto``. The
reference point is full fine-tuning on the whole training split (one epoch), same test sample.

Run one process per core, then combine:
    python bench/fewshot.py --datasets trec,rotten-tomatoes
    python bench/fewshot.py --datasets bbc-news,airline-tweets
    python bench/fewshot.py --combine
Finished runs are kept in the work folder's runs.jsonl and skipped when the script is rerun;
``--only zeroshot|fewshot|full-data`` runs one part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fewshot_labels import DESCRIPTIONS  # noqa: E402
from bench.machine import describe_machine  # noqa: E402
from bench.scale import write_results  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fewshot.json"
SETFIT_PYTHON = ROOT / ".venv-setfit" / "bin" / "python"
FEWSHOT_TRAIN = {"epochs": 20, "batch_size": 16, "learning_rate": 5e-5}
FULL_DATA_TRAIN = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5}


def _write_jsonl(path: Path, examples: Any) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for text, label in zip(examples.texts, examples.targets, strict=True):
            handle.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")


def _prepare(dataset: str, folder: Path, args: argparse.Namespace) -> tuple[Any, Any]:
    """(task, training examples); writes stratified samples into ``folder``: test.jsonl,
    validation.jsonl (50) and test-generative.jsonl (a smaller part of the test sample)."""
    from bizlm.recipe import load_recipe
    from bizlm.tasks import build_task

    source = fetch_folder(dataset)
    task = build_task(load_recipe({"data": {"catalog": dataset}}).task)
    summary: dict[str, Any] = {}
    splits = {
        n: task.read(source / f"{n}.jsonl", "utf-8", summary)
        for n in ("train", "validation", "test")
    }
    folder.mkdir(parents=True, exist_ok=True)

    def sample(examples: Any, size: int) -> Any:
        if size >= len(examples):
            return examples
        kept = size / len(examples)
        return examples.subset(task.split(examples, {"kept": kept, "rest": 1 - kept}, 0)["kept"])

    test = sample(splits["test"], args.test_size)
    _write_jsonl(folder / "test.jsonl", test)
    _write_jsonl(folder / "validation.jsonl", sample(splits["validation"], 50))
    _write_jsonl(folder / "test-generative.jsonl", sample(test, args.generative_size))
    return task, splits["train"]


def _bizlm(recipe: dict[str, Any]) -> dict[str, Any]:
    import bizlm
    from bizlm.progress import Reporter

    result = bizlm.train(recipe, reporter=Reporter())
    return {
        "accuracy": result.metrics["accuracy"],
        "train_seconds": result.info["training"]["train_seconds"],
        "method": result.info["recipe"]["method"],
    }


def _setfit(model: str, train: Path, test: Path, max_length: int, seed: int) -> dict[str, Any]:
    command = [
        str(SETFIT_PYTHON),
        str(ROOT / "bench" / "setfit_worker.py"),
        model,
        str(train),
        str(test),
        "--max-length",
        str(max_length),
        "--seed",
        str(seed),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _record(log: Path, done: set[str], key: str, run: Any) -> None:
    if key in done:
        return
    figures = run()
    with log.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"key": key, **figures}) + "\n")
    done.add(key)
    print(key, figures, flush=True)


def run_dataset(dataset: str, args: argparse.Namespace) -> None:
    """The parts ``--only`` names: zero-shot runs, every (seed, K) pair of bizlm fewshot and
    SetFit, and the full fine-tuning reference."""
    folder = Path(args.work) / dataset
    task, train = _prepare(dataset, folder, args)
    log = folder / "runs.jsonl"
    done = {json.loads(line)["key"] for line in log.open()} if log.is_file() else set()
    base = {
        "train": {"max_length": args.max_length},
        "task": {"labels": sorted(DESCRIPTIONS[dataset])},
    }
    if args.only in ("all", "zeroshot"):
        _zero_shot(folder, dataset, base, log, done)
    if args.only in ("all", "fewshot"):
        _few_shot(folder, task, train, base, log, done, args)
    if args.only in ("all", "full-data"):
        _full_data(folder, dataset, base, log, done, args)


def _zero_shot(folder: Path, dataset: str, base: dict, log: Path, done: set[str]) -> None:
    for mode in ("embedding", "generative"):
        # generative: one forward pass per text, so a smaller (stratified) sample
        test = folder / ("test-generative.jsonl" if mode == "generative" else "test.jsonl")
        data = {"test": str(test)}
        if mode == "generative":  # calibrate: auto checks the prior on the validation texts
            data["validation"] = str(folder / "validation.jsonl")
        recipe = {
            **base,
            "data": data,
            "output": str(folder / f"zeroshot-{mode}"),
            "method": {"name": "zeroshot", "mode": mode, "labels": DESCRIPTIONS[dataset]},
        }
        _record(log, done, f"zeroshot-{mode}", lambda r=recipe: _bizlm(r))


def _few_shot(
    folder: Path, task: Any, train: Any, base: dict, log: Path, done: set[str], args: Any
) -> None:
    from bizlm.backbones import resolve_model
    from bizlm.training.shots import take_shots

    model = resolve_model("default")
    for seed in range(args.first_seed, args.seeds):
        for shots in args.shots:
            sample = folder / f"shots-{shots}-seed-{seed}.jsonl"
            _write_jsonl(sample, take_shots(task, train, shots, seed))
            recipe = {
                **base,
                "method": "fewshot",
                "output": str(folder / f"fewshot-{shots}-{seed}"),
                "data": {
                    "train": str(sample),
                    "validation": str(folder / "validation.jsonl"),
                    "test": str(folder / "test.jsonl"),
                },
                "train": {**FEWSHOT_TRAIN, "max_length": args.max_length, "seed": seed},
            }
            _record(log, done, f"bizlm-{shots}-{seed}", lambda r=recipe: _bizlm(r))
            _record(
                log,
                done,
                f"setfit-{shots}-{seed}",
                lambda s=sample, sd=seed: _setfit(
                    model, s, folder / "test.jsonl", args.max_length, sd
                ),
            )


def _full_data(
    folder: Path, dataset: str, base: dict, log: Path, done: set[str], args: Any
) -> None:
    """The reference point: full fine-tuning on the whole training split, same test sample."""
    recipe = {
        **base,
        "model": "default",
        "data": {
            "train": str(fetch_folder(dataset) / "train.jsonl"),
            "validation": str(folder / "validation.jsonl"),
            "test": str(folder / "test.jsonl"),
        },
        "train": {**FULL_DATA_TRAIN, "max_length": args.max_length},
        "output": str(folder / "full-data"),
    }
    _record(log, done, "full-data", lambda: _bizlm(recipe))


def fetch_folder(dataset: str) -> Path:
    """The catalog folder of ``dataset`` (fetched on first use)."""
    from bizlm.data.catalog import fetch

    return fetch(dataset)


def combine(args: argparse.Namespace) -> None:
    """Mean accuracies per dataset and K, the margins over SetFit and the time ratio."""
    table: dict[str, Any] = {}
    margins, ours, theirs = [], 0.0, 0.0
    methods: set[str] = set()  # bizlm's few-shot settings, one set for every run
    for folder in sorted(Path(args.work).iterdir()):
        log = folder / "runs.jsonl"
        if not log.is_file():
            continue
        runs = {r["key"]: r for r in map(json.loads, log.open())}
        entry: dict[str, Any] = {
            "zeroshot_embedding": runs.get("zeroshot-embedding", {}).get("accuracy"),
            "zeroshot_generative": runs.get("zeroshot-generative", {}).get("accuracy"),
            "full_data": runs.get("full-data", {}).get("accuracy"),
        }
        for shots in args.shots:
            seeds = [
                s
                for s in range(args.seeds)
                if f"bizlm-{shots}-{s}" in runs and f"setfit-{shots}-{s}" in runs
            ]
            if not seeds:
                continue
            a = [runs[f"bizlm-{shots}-{s}"] for s in seeds]
            methods.update(json.dumps(r.get("method"), sort_keys=True) for r in a)
            b = [runs[f"setfit-{shots}-{s}"] for s in seeds]
            mine, other = (statistics.mean(r["accuracy"] for r in x) for x in (a, b))
            entry[f"{shots}_shot"] = {
                "seeds": seeds,
                "bizlm": mine,
                "setfit": other,
                "bizlm_std": statistics.pstdev(r["accuracy"] for r in a),
                "setfit_std": statistics.pstdev(r["accuracy"] for r in b),
                "bizlm_seconds": statistics.mean(r["train_seconds"] for r in a),
                "setfit_seconds": statistics.mean(r["train_seconds"] for r in b),
            }
            margins.append(100 * (mine - other))
            ours += sum(r["train_seconds"] for r in a)
            theirs += sum(r["train_seconds"] for r in b)
        table[folder.name] = entry
    if len(methods) > 1:
        raise SystemExit(
            f"The bizlm few-shot runs in {args.work} used different method settings: "
            f"{sorted(methods)}. Move the stale runs out of runs.jsonl and rerun them."
        )
    figures = {
        "benchmark": "fewshot",
        "machine": describe_machine(),
        "settings": {
            "max_length": args.max_length,
            "test_size": args.test_size,
            "generative_size": args.generative_size,
            "fewshot_train": FEWSHOT_TRAIN,
            "fewshot_method": json.loads(methods.pop()) if methods else None,
            "full_data_train": FULL_DATA_TRAIN,
            "threads_per_run": 1,
            "setfit": "1.2.0, default TrainingArguments",
        },
        "datasets": table,
        "margin_vs_setfit": min(margins) if margins else None,
        "zeroshot_bbc_accuracy": table.get("bbc-news", {}).get("zeroshot_embedding"),
        "time_ratio_vs_setfit": ours / theirs if theirs else None,
    }
    write_results(args.results, figures)
    print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=2))


def main() -> None:
    """Run the datasets named, or combine the finished runs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="bbc-news,trec,airline-tweets,rotten-tomatoes")
    parser.add_argument("--shots", default="8,16", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="Start at this seed (split seeds over processes)."
    )
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--generative-size", type=int, default=100)
    parser.add_argument("--work", default="/tmp/bizlm-bench/fewshot")
    parser.add_argument("--combine", action="store_true")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="The JSON file --combine writes."
    )
    parser.add_argument(
        "--only",
        choices=("all", "zeroshot", "fewshot", "full-data"),
        default="all",
        help="Run one part: zero-shot, few-shot against SetFit, or full fine-tuning on all data.",
    )
    args = parser.parse_args()
    if args.combine:
        combine(args)
        return
    import torch

    torch.set_num_threads(1)
    for dataset in args.datasets.split(","):
        run_dataset(dataset, args)


if __name__ == "__main__":
    main()
