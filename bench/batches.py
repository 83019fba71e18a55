"""Inference batching benchmark: batches cut by length against whole batches, side by side.

On one bundle and the airline-tweets test texts, texts per second of the predictor's forward
passes (tokenised once, outside the clock) in three shapes of work:
  * the whole split in one call (sorted by length, batches of 64: bulk ``predict``);
  * the split in calls of 32 and of 8 texts in arrival order (what a server or a client sending
    small batches gives the model).
Each shape is timed with whole batches and with batches cut at the CPU's per-call cost, in
alternating rounds; the best round of each counts. Writes bench/results/batches.json.
Run: BIZLM_HOME=... python bench/batches.py --bundle runs/quickstart [--threads 1,2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.scale import write_results  # noqa: E402
from bench.serve import load_texts  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "batches.json"
SHAPES = {"sorted_split": None, "calls_of_32": 32, "calls_of_8": 8}


def texts_per_second(
    predictor: Any, features: list, call_size: int | None, cut: int | None
) -> float:
    """Texts/s of forward passes over ``features`` in calls of ``call_size`` (all at once if
    None), each call's batches cut at ``cut`` tokens per call (whole if None)."""
    import torch

    from bizlm.inference import batched_outputs

    size = call_size or len(features)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(features), size):
            batched_outputs(
                predictor._forward,
                features[start : start + size],
                predictor.pad_token_id,
                64,
                call_overhead=cut,
            )
    return len(features) / (time.perf_counter() - started)


def measure(bundle: Path, threads: int, rounds: int) -> dict[str, Any]:
    """Best texts/s per shape, whole and cut, and the ratio cut / whole."""
    import torch

    import bizlm
    from bizlm.inference import CPU_CALL_OVERHEAD_TOKENS, tokenize

    torch.set_num_threads(threads)
    predictor = bizlm.load(bundle)
    features = tokenize(predictor.tokenizer, load_texts(), predictor.max_length)
    texts_per_second(predictor, features[:64], None, None)  # warm-up
    best: dict[str, dict[str, float]] = {shape: {"whole": 0.0, "cut": 0.0} for shape in SHAPES}
    for _ in range(rounds):
        for shape, call_size in SHAPES.items():
            for mode, cut in (("whole", None), ("cut", CPU_CALL_OVERHEAD_TOKENS)):
                rate = texts_per_second(predictor, features, call_size, cut)
                best[shape][mode] = max(best[shape][mode], rate)
    return {
        shape: {**rates, "cut_over_whole": rates["cut"] / rates["whole"]}
        for shape, rates in best.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, required=True, help="Bundle to run.")
    parser.add_argument("--threads", default="1,2", help="Torch thread counts to measure.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds per shape.")
    args = parser.parse_args()
    from bizlm.inference import CPU_CALL_OVERHEAD_TOKENS

    by_threads = {
        threads: measure(args.bundle, int(threads), args.rounds)
        for threads in args.threads.split(",")
    }
    figures = {
        "benchmark": "batches",
        "machine": describe_machine(),
        "bundle": str(args.bundle),
        "texts": "airline-tweets test split (1443 texts)",
        "call_overhead_tokens": CPU_CALL_OVERHEAD_TOKENS,
        "texts_per_second_by_threads": by_threads,
    }
    write_results(RESULTS, figures)
    for threads, shapes in by_threads.items():
        for shape, rates in shapes.items():
            print(
                f"{threads} thread(s) {shape:13} whole {rates['whole']:6.1f}/s  "
                f"cut {rates['cut']:6.1f}/s  x{rates['cut_over_whole']:.2f}"
            )


if __name__ == "__main__":
    main()
