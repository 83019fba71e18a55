"""Train and measure one (method, seed) of a comparison; run in its own process so that its
peak memory is its own. Prints one ``RESULT {json}`` line."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bizlm.loading import load
from bizlm.memory import rss_mib
from bizlm.recipe import load_recipe
from bizlm.tasks import build_task
from bizlm.training.prepare import prepare_data
from bizlm.training.run import train


def folder_size(path: Path) -> int:
    """Bytes on disk of every file below ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def single_text_latency_ms(bundle: Path, texts: list[str], repeats: int = 30) -> float:
    """Median latency of predicting one text at a time."""
    predictor = load(bundle)
    predictor.predict(texts[:2])  # warm-up
    timings = []
    for index in range(repeats):
        started = time.perf_counter()
        predictor.predict([texts[index % len(texts)]])
        timings.append(1000 * (time.perf_counter() - started))
    return statistics.median(timings)


def measure(recipe: str, overrides: list[str]) -> dict[str, Any]:
    """Train with the overrides and return the leaderboard figures of the run."""
    loaded = load_recipe(recipe, overrides)
    primary = build_task(loaded.task).primary_metric
    result = train(loaded)
    bundle = Path(result.bundle)
    training = result.info["training"]
    artifact = bundle / "adapter" if (bundle / "adapter").is_dir() else bundle / "model"
    held_out = prepare_data(loaded).splits
    texts = (held_out.get("test") or held_out["validation"]).texts[:30]
    return {
        "score": result.metrics[primary],
        "score_name": primary,
        **{k: result.metrics[k] for k in ("macro_f1", "accuracy") if k in result.metrics},
        "trainable_parameters": training["trainable_parameters"],
        "total_parameters": training["total_parameters"],
        "train_seconds": training["train_seconds"],
        "samples_per_s": training["samples_per_s"],
        "peak_rss_mb": rss_mib(peak=True),
        "artifact_bytes": folder_size(artifact),
        "artifact": artifact.name,
        "bundle_bytes": folder_size(bundle),
        "p50_latency_ms": single_text_latency_ms(bundle, texts),
    }


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    print("RESULT " + json.dumps(measure(arguments["recipe"], arguments["overrides"])))
