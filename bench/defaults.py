"""The default recipe on data it was never tuned on, against a TF-IDF baseline.

For every catalog classification set: write its training split (a stratified sample of at
most ``--train-rows`` rows), validation and test split to files, let ``bizlm init recipe``
write the recipe from the training file alone, point it at the validation and test files,
and train it with 3 seeds. Nothing else is set per set. The bundle holds the model's scores
and the TF-IDF + logistic-regression baseline's, trained on the same rows and scored on the
same test split; the margin is the model's test macro-F1 minus the baseline's, in points. The
model is the bundle as it predicts: when validation chose a blend with the baseline's n-gram
model (``evaluation.blend``), the blend; the fine-tuned model alone is recorded beside it.

Run: python bench/defaults.py [--sets a,b] [--seeds 1,2,3] [--work DIR]
Writes bench/results/defaults.json; cells already there are kept (``--fresh`` drops them).
``--set train.epochs=8`` (repeatable) measures a candidate default: the override goes to every
set alike, and is recorded in the results file (write those to another ``--results`` file).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "defaults.json"
BIZLM = [str(Path(sys.executable).parent / "bizlm")]
TARGETS = {"defaults_worst_margin_points": 0.0, "defaults_median_margin_points": 3.0}


def classification_sets() -> list[str]:
    """Every single-label classification set of the catalog."""
    from bizlm.data.catalog import list_catalog

    return [entry.name for entry in list_catalog() if entry.kind == "classify"]


def write_split_files(name: str, folder: Path, train_rows: int) -> dict[str, Any]:
    """The set's splits as JSONL files; the training split sampled to ``train_rows``."""
    from bizlm.data.catalog import dataset_info, fetch
    from bizlm.data.splits import stratified_split

    source = fetch(name)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "validation", "test"):
        text = (source / f"{split}.jsonl").read_text(encoding="utf-8")
        lines = [line for line in text.split("\n") if line]  # texts may hold U+2028
        if split == "train" and len(lines) > train_rows:
            labels = [str(json.loads(line)["label"]) for line in lines]
            share = train_rows / len(lines)
            parts = stratified_split(labels, {"kept": share, "rest": 1 - share}, 13)
            lines = [lines[i] for i in sorted(parts["kept"])]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        counts[split] = len(lines)
    info = dataset_info(name)
    return {"counts": counts, "package": f"{info['package']}=={info['version']}"}


def run_bizlm(folder: Path, *args: str) -> tuple[str, float]:
    """Run one ``bizlm`` command in ``folder``; return what it printed and its seconds."""
    started = time.perf_counter()
    done = subprocess.run([*BIZLM, *args], cwd=folder, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"bizlm {args[0]} failed in {folder}: {done.stderr[-3000:]}")
    return done.stdout, seconds


def init_recipe(folder: Path) -> tuple[dict[str, Any], float, str]:
    """Run ``bizlm init recipe`` on the training file; return the recipe, seconds, output."""
    target = folder / "recipe.yaml"
    target.unlink(missing_ok=True)
    printed, seconds = run_bizlm(
        folder, "init", "recipe", "--data", "train.jsonl", "--output", target.name
    )
    return yaml.safe_load(target.read_text(encoding="utf-8")), seconds, printed


def train_seed(
    folder: Path, recipe: dict[str, Any], seed: int, overrides: list[str]
) -> dict[str, Any]:
    """Train the initialised recipe (plus the fixed validation/test files) with one seed and
    the candidate ``overrides`` (the same for every set)."""
    recipe = json.loads(json.dumps(recipe))
    recipe["data"].update(validation="validation.jsonl", test="test.jsonl")
    recipe["output"] = f"seed-{seed}"
    path = folder / f"recipe-seed-{seed}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    extra = [arg for override in overrides for arg in ("--set", override)]
    _, seconds = run_bizlm(
        folder, "train", path.name, "--set", f"train.seed={seed}", *extra, "--quiet", "--json"
    )
    return seed_record(folder, seed, seconds)


def seed_record(folder: Path, seed: int, seconds: float) -> dict[str, Any]:
    """One (set, seed) cell from the bundle ``bizlm train`` wrote into ``folder/seed-N``;
    ``seconds``: how long the train command took."""
    info = json.loads((folder / f"seed-{seed}" / "bizlm.json").read_text(encoding="utf-8"))
    metrics, verdict = info["metrics"], info.get("verdict") or {}
    baseline = metrics.get("baseline", {}).get("test", {})
    resolved = info["recipe"]
    blend = info.get("blend") or {}
    alone = (blend.get("model_alone") or {}).get("test", {}).get("macro_f1", metrics["macro_f1"])
    return {
        "seed": seed,
        "model_macro_f1": metrics["macro_f1"],
        "model_accuracy": metrics["accuracy"],
        "baseline_macro_f1": baseline.get("macro_f1"),
        "baseline_accuracy": baseline.get("accuracy"),
        "majority_macro_f1": metrics.get("majority", {}).get("test", {}).get("macro_f1"),
        "margin_points": verdict.get("margin_points"),
        "blend_weight": blend.get("weight", 0.0),
        "model_alone_macro_f1": alone,
        "model_alone_margin_points": None
        if baseline.get("macro_f1") is None
        else round(100 * (alone - baseline["macro_f1"]), 2),
        "verdict": verdict.get("message"),
        "train_seconds": info["training"]["train_seconds"],
        "baseline_seconds": metrics.get("baseline", {}).get("train_seconds"),
        "train_command_seconds": round(seconds, 1),
        "stopped_early": info["training"]["stopped_early"],
        "warnings": info["data"].get("warnings", []),
        "chosen": {
            "model": resolved["model"],
            "method": resolved["method"]["name"],
            "learning_rate": resolved["train"]["learning_rate"],
            "epochs": resolved["train"]["epochs"],
            "max_length": resolved["train"]["max_length"],
            "long_inputs": resolved["task"]["long_inputs"],
            "class_weights": resolved["regularise"]["class_weights"],
            "decision_threshold": info.get("calibration", {}).get("decision_threshold"),
        },
    }


def summarise(sets: dict[str, Any]) -> dict[str, Any]:
    """The headline keys: per set the mean margin over seeds, then worst and median."""
    margins, alone = {}, {}
    for name, entry in sets.items():
        runs = [r["margin_points"] for r in entry["seeds"] if r["margin_points"] is not None]
        if runs:
            entry["mean_margin_points"] = round(statistics.mean(runs), 2)
            entry["mean_model_macro_f1"] = statistics.mean(
                r["model_macro_f1"] for r in entry["seeds"]
            )
            margins[name] = entry["mean_margin_points"]
        unblended = [r.get("model_alone_margin_points") for r in entry["seeds"]]
        if unblended and None not in unblended:
            entry["mean_model_alone_margin_points"] = round(statistics.mean(unblended), 2)
            alone[name] = entry["mean_model_alone_margin_points"]
    if not margins:
        return {}
    summary = {
        "defaults_sets": len(margins),
        "defaults_sets_beating_baseline": sum(m > 0 for m in margins.values()),
        "defaults_worst_margin_points": min(margins.values()),
        "defaults_worst_set": min(margins, key=margins.__getitem__),
        "defaults_median_margin_points": statistics.median(margins.values()),
    }
    if len(alone) == len(margins):  # the fine-tuned model without its blend, for reference
        summary["model_alone_worst_margin_points"] = min(alone.values())
        summary["model_alone_median_margin_points"] = statistics.median(alone.values())
    return summary


def combine(parts: list[Path], target: Path) -> None:
    """One results file from several (e.g. one process per core, each on its own sets)."""
    loaded = [json.loads(part.read_text()) for part in parts]
    sets = {name: entry for part in loaded for name, entry in part["sets"].items()}
    payload = {
        **{k: v for k, v in loaded[0].items() if k != "sets"},
        "parts": [part.name for part in parts],
        "machines": [part["machine"] for part in loaded],
        **summarise(sets),
        "sets": sets,
    }
    target.write_text(json.dumps(payload, indent=2) + "\n")


def main() -> None:
    """Run every (set, seed) cell not yet in the results file, saving after each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default=None, help="comma-separated; default: all")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-defaults")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="a candidate default for every set, as bizlm train --set (repeatable)",
    )
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        help="merge the sets of these results files (runs split over processes) into --results",
    )
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, args.results)
        return
    results: Path = args.results
    saved = {} if args.fresh or not results.exists() else json.loads(results.read_text())
    sets: dict[str, Any] = saved.get("sets", {})
    names = args.sets.split(",") if args.sets else classification_sets()
    for name in names:
        folder = args.work / name
        split_info = write_split_files(name, folder, args.train_rows)
        recipe, init_seconds, init_output = init_recipe(folder)
        entry = sets.setdefault(name, {"seeds": []})
        entry.update(
            split_info, init_seconds=round(init_seconds, 1), init_output=init_output, recipe=recipe
        )
        done = {run["seed"] for run in entry["seeds"]}
        for seed in (int(s) for s in args.seeds.split(",")):
            if seed in done:
                continue
            entry["seeds"].append(train_seed(folder, recipe, seed, args.overrides))
            payload = {
                "benchmark": "defaults",
                "protocol": "bizlm init recipe on the training file, then bizlm train with the "
                "catalog's fixed validation and test files; nothing set per set; training split "
                f"sampled to at most {args.train_rows} rows (stratified, seed 13); the baseline "
                "(TF-IDF + logistic regression) trains on the same rows; margin = model test "
                "macro-F1 - baseline test macro-F1, in points, mean over seeds; the model is the "
                "bundle as it predicts (blended with the n-gram model when validation chose a "
                "weight), the fine-tuned model alone is recorded as model_alone",
                "machine": describe_machine(),
                "overrides": args.overrides,
                "targets": TARGETS,
                **summarise(sets),
                "sets": sets,
            }
            results.write_text(json.dumps(payload, indent=2) + "\n")
            run = entry["seeds"][-1]
            print(
                f"{name} seed {seed}: model {run['model_macro_f1']:.3f} baseline "
                f"{run['baseline_macro_f1']} margin {run['margin_points']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
