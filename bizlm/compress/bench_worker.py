"""Measure one bundle in this process: ``python -m bizlm.compress.bench_worker BUNDLE ...``.

Prints one JSON line. Run in a fresh process per bundle so load time and peak memory are
the bundle's own.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bizlm.bundle import read_bundle_info
from bizlm.compress.flops import encoder_flops
from bizlm.compress.source import bundle_data
from bizlm.data.columns import select_columns
from bizlm.data.readers import read_table
from bizlm.errors import BizlmError
from bizlm.long_text import encode_texts
from bizlm.memory import rss_mib
from bizlm.metrics.classification import classification_metrics
from bizlm.predictor import load

if TYPE_CHECKING:
    from bizlm.bundle_info import BundleInfo


def evaluation_rows(info: BundleInfo, data: Path | None) -> tuple[list[str], list[str], str]:
    """Texts, gold labels and a description: ``data`` if given, else the recipe's test split."""
    if data is not None:
        task = info.task_settings
        rows = select_columns(
            read_table(data), task.get("text_column", "text"), task.get("label_column", "label")
        )
        return rows.texts, [str(x) for x in rows.labels], str(data)
    splits = bundle_data(info).splits
    split = "test" if splits.get("test") and splits["test"].texts else "validation"
    return splits[split].texts, [str(x) for x in splits[split].targets], f"{split} split"


def measure(bundle: Path, data: Path | None, latency_texts: int, repeats: int) -> dict[str, Any]:
    """Load time, batch-1 latency, batch-32 throughput, macro-F1, FLOP rate and peak RSS."""
    info = read_bundle_info(bundle)
    texts, gold, source = evaluation_rows(info, data)
    started = time.perf_counter()
    predictor = load(bundle)
    load_seconds = time.perf_counter() - started
    predictor.predict_proba(texts[:64], batch_size=32)  # warm-up
    best_latency: list[float] | None = None
    best_throughput = 0.0
    probabilities = None
    for _ in range(repeats):
        latencies = []
        for text in texts[:latency_texts]:
            started = time.perf_counter()
            predictor.predict_proba([text], batch_size=1)
            latencies.append(time.perf_counter() - started)
        if best_latency is None or np.median(latencies) < np.median(best_latency):
            best_latency = latencies
        started = time.perf_counter()
        probabilities = predictor.predict_proba(texts, batch_size=32)
        best_throughput = max(best_throughput, len(texts) / (time.perf_counter() - started))
    assert probabilities is not None and best_latency is not None
    encoded = encode_texts(
        predictor.tokenizer, texts, predictor.max_length, mode=predictor.long_inputs
    )
    lengths = [len(f["input_ids"]) for f in encoded.features]
    flops = encoder_flops(
        json.loads((bundle / "model" / "config.json").read_text()),
        lengths,
        info.compression.get("heads_per_layer"),
    )
    gold_ids = [predictor.labels.index(label) for label in gold]
    chosen = predictor.choose(probabilities)
    metrics = classification_metrics(gold_ids, probabilities, predictor.labels, chosen)
    return {
        "runtime": info.runtime,
        "quantize": info.quantize,
        "layers": json.loads((bundle / "model" / "config.json").read_text()).get(
            "num_hidden_layers"
        ),
        "load_seconds": load_seconds,
        "latency_p50_ms": 1000 * float(np.percentile(best_latency, 50)),
        "latency_p95_ms": 1000 * float(np.percentile(best_latency, 95)),
        "throughput_per_s": best_throughput,
        "flops_per_text": flops / len(texts) if flops else None,
        "flops_per_s": flops * best_throughput / len(texts) if flops else None,
        "macro_f1": metrics["macro_f1"],
        "accuracy": metrics["accuracy"],
        "evaluated_on": source,
        "texts": len(texts),
        "peak_rss_mb": rss_mib(peak=True),
    }


def main() -> None:
    """Parse arguments, measure, print ``RESULT {json}`` (or ``ERROR message``)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--latency-texts", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    try:
        result = measure(args.bundle, args.data, args.latency_texts, args.repeats)
    except BizlmError as exc:
        print(f"ERROR {exc}", flush=True)
        raise SystemExit(exc.exit_code) from None
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
