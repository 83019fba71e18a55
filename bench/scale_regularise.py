"""Scaling benchmark, small-data part: does augmentation + R-Drop + FGM help with 10% of the data?

airline-tweets, 10% of the training split (a stratified sample), LoRA on the default model,
2 epochs, 3 seeds; the same runs with ``regularise: {augment: 1, rdrop_alpha: 1.0,
fgm_epsilon: 0.5}`` added. Reports test macro-F1 (mean over seeds) of both and
``augmentation_gain_points`` (regularised minus plain, in points).
Writes (updates) bench/results/scale.json. Run: python bench/scale_regularise.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.scale import RESULTS, write_results  # noqa: E402

RECIPE = "recipes/airline-lora.yaml"
SWITCHES = ["regularise.augment=1", "regularise.rdrop_alpha=1.0", "regularise.fgm_epsilon=0.5"]


def small_data_part(seeds: int, fraction: float, folder: Path) -> dict[str, Any]:
    """Plain and regularised runs for each seed; their test macro-F1."""
    import bizlm
    from bizlm.data.catalog import dataset_info

    train_size = int(dataset_info("airline-tweets")["counts"]["train"] * fraction)
    base = [f"data.max_train_examples={train_size}", "train.epochs=2"]
    scores: dict[str, list[float]] = {"plain": [], "regularised": []}
    for seed in range(seeds):
        for name, extra in (("plain", []), ("regularised", SWITCHES)):
            output = f"output={folder / f'{name}-{seed}'}"
            result = bizlm.train(RECIPE, [*base, f"train.seed={42 + seed}", *extra, output])
            scores[name].append(result.metrics["macro_f1"])
    plain, regularised = (statistics.fmean(scores[k]) for k in ("plain", "regularised"))
    return {
        "augmentation_gain_points": round(100 * (regularised - plain), 2),
        "small_data_macro_f1": {
            k: {"mean": statistics.fmean(v), "runs": v} for k, v in scores.items()
        },
        "small_data_settings": {
            "recipe": RECIPE,
            "train_examples": train_size,
            "epochs": 2,
            "seeds": seeds,
            "switches": SWITCHES,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--output", type=Path, default=RESULTS, help="Results JSON to update.")
    args = parser.parse_args()
    figures = small_data_part(args.seeds, args.fraction, ROOT / "runs" / "bench-small-data")
    write_results(args.output, {**figures, "small_data_machine": describe_machine()})
    means = figures["small_data_macro_f1"]
    print(
        f"macro-F1 plain {100 * means['plain']['mean']:.2f}, regularised "
        f"{100 * means['regularised']['mean']:.2f}: "
        f"gain {figures['augmentation_gain_points']} points"
    )


if __name__ == "__main__":
    main()
