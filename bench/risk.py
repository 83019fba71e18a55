"""Risk monitor benchmark: surge alerts against injected truth, and sustained ingest rate.

A seeded stream of real catalog texts — BBC news (validation + test) and $AAPL tweets
(validation + test, in their natural sentiment mix) — over hourly windows, with negative
surges injected at seeded hours (extra negative tweets for two windows each). It is replayed
at full speed into `bizlm app risk serve` (a subprocess, both models, one torch thread), so
every item is stored, masked and classified by the real service; the benchmark then reads the
alerts back and scores them:
  * recall: injected surges with an alert (any topic) flagged between the surge's first window
    and one window after its end; precision: alerts that match a surge;
  * delay: windows from the surge's first window to the flagged one (the alert is raised when
    that window closes), median over detected surges;
  * ingest rate: items/s from the first POST to the last item classified, and its ratio to
    offline batched `predict_proba` of both models over the same texts (same process count).
The default rule (negative count, EWMA z >= 4, min 10 items, 3 h cool-down) is the headline;
CUSUM and the negative-share signal are scored on the same stored items for comparison, and
the rules run again in-process on a stream with another seed (held out).
Run: BIZLM_HOME=... OMP_NUM_THREADS=1 python bench/risk.py [--topic B --sentiment B]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.service_ready import wait_until_ready  # noqa: E402
from bizlm.memory import rss_mib  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "risk.json"
TARGETS = {"alert_recall": 0.9, "alert_precision": 0.8, "ingest_vs_offline_ratio": 0.7}
T0 = 1_704_067_200.0  # 2024-01-01T00:00Z
HOUR = 3600.0


def _compared_rules() -> dict[str, Any]:
    from bizlm.apps.risk.rules import Rule

    return {
        "cusum_count_h5": Rule(name="cusum-count", detector="cusum", threshold=5.0),
        "ewma_share_z3": Rule(name="ewma-share", signal="negative_share", threshold=3.0),
        "cusum_share_h5": Rule(
            name="cusum-share", signal="negative_share", detector="cusum", threshold=5.0
        ),
    }


COMPARED_RULES = _compared_rules()


def catalog_texts(name: str) -> list[dict[str, str]]:
    """Validation and test rows of a catalog dataset (never the training split)."""
    from bizlm.data.catalog import fetch

    folder = fetch(name)
    rows = []
    for split in ("validation", "test"):
        content = (folder / f"{split}.jsonl").read_text(encoding="utf-8")
        rows += [json.loads(line) for line in content.split("\n") if line.strip()]
    return rows


def build_stream(args: argparse.Namespace, seed: int) -> tuple[list[dict[str, Any]], list[float]]:
    """Items over ``args.hours`` windows and the start times of the injected surges."""
    rng = random.Random(seed)
    news = catalog_texts("bbc-news")
    tweets = catalog_texts("aapl-tweets")
    negatives = [row for row in tweets if row["label"] == "negative"]
    surge_hours: list[int] = []
    candidates = list(range(args.warmup_hours, args.hours - 3))
    while len(surge_hours) < args.surges and candidates:
        hour = rng.choice(candidates)
        surge_hours.append(hour)
        candidates = [h for h in candidates if abs(h - hour) > args.min_gap]
    items: list[dict[str, Any]] = []
    for hour in range(args.hours):
        for index in range(args.per_hour):
            row = rng.choice(news) if rng.random() < args.news_share else rng.choice(tweets)
            items.append(_item(f"b{hour}-{index}", hour, rng, row["text"], "wire"))
    for hour in surge_hours:
        for offset in range(args.surge_windows):
            for index in range(args.surge_items):
                text = rng.choice(negatives)["text"]
                items.append(_item(f"s{hour + offset}-{index}", hour + offset, rng, text, "social"))
    items.sort(key=lambda item: item["time"])
    return items, sorted(T0 + hour * HOUR for hour in surge_hours)


def _item(item_id: str, hour: int, rng: random.Random, text: str, source: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "time": T0 + hour * HOUR + rng.uniform(0, HOUR - 1),
        "source": source,
        "text": text,
    }


def score_alerts(
    alerts: list[dict[str, Any]], surges: list[float], surge_windows: int
) -> dict[str, Any]:
    """Recall, precision and median delay (windows) of alerts against injected surges."""
    matched: dict[float, float] = {}
    true_alerts = 0
    for alert in alerts:
        start = alert["window_start"]
        hit = [s for s in surges if s <= start <= s + surge_windows * HOUR]
        if hit:
            true_alerts += 1
            delay = (start - hit[0]) / HOUR
            matched[hit[0]] = min(delay, matched.get(hit[0], delay))
    delays = list(matched.values())
    return {
        "alerts": len(alerts),
        "true_alerts": true_alerts,
        "surges_detected": len(matched),
        "recall": round(len(matched) / len(surges), 4) if surges else None,
        "precision": round(true_alerts / len(alerts), 4) if alerts else None,
        "median_delay_windows": statistics.median(delays) if delays else None,
    }


def ensure_models(args: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    """The given bundles, or ones trained now from recipes/risk-*.yaml (timed)."""
    import bizlm

    paths = []
    for role, given in (("topic", args.topic), ("sentiment", args.sentiment)):
        if given is not None:
            paths.append(Path(given))
            continue
        output = work / "models" / role
        started = time.perf_counter()
        bizlm.train(ROOT / "recipes" / f"risk-{role}.yaml", [f"output={output}"])
        print(f"trained {role} in {time.perf_counter() - started:.0f} s")
        paths.append(output)
    return paths[0], paths[1]


def describe_models(topic: Path, sentiment: Path) -> dict[str, Any]:
    """Each bundle's method, epochs and test metrics (from its bizlm.json)."""
    described = {}
    for role, path in (("topic", topic), ("sentiment", sentiment)):
        info = json.loads((path / "bizlm.json").read_text(encoding="utf-8"))
        metrics = info.get("metrics") or {}
        recipe = info.get("recipe") or {}
        described[role] = {
            "bundle": str(path),
            "data": (recipe.get("data") or {}).get("catalog"),
            "method": (recipe.get("method") or {}).get("name"),
            "epochs": (recipe.get("train") or {}).get("epochs"),
            "test_accuracy": metrics.get("accuracy"),
            "test_macro_f1": metrics.get("macro_f1"),
        }
    return described


def offline_rate(topic: Path, sentiment: Path, texts: list[str]) -> float:
    """Items/s of batched predict_proba with both models over the texts (after a warm-up)."""
    import bizlm

    models = [bizlm.load(topic), bizlm.load(sentiment)]
    for model in models:
        model.predict_proba(texts[:32], batch_size=32)
    started = time.perf_counter()
    for model in models:
        model.predict_proba(texts, batch_size=32)
    return len(texts) / (time.perf_counter() - started)


def serve(folder: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Start `bizlm app risk serve` on a free port; wait until it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-c",
        "from bizlm.cli import main; main()",
        "app",
        "risk",
        "serve",
        str(folder),
        "--no-auth",
        "--port",
        str(port),
        "--interval",
        "0.2",
    ]
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=os.environ)
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(process, url, log)
    return process, url


def ingest_through_service(folder: Path, items: list[dict[str, Any]], work: Path) -> dict:
    """Post everything at full speed; time until every item is classified; read the alerts."""
    process, url = serve(folder, work / "serve.log")
    try:
        started = time.perf_counter()
        with httpx.Client(timeout=120) as client:
            for start in range(0, len(items), 200):
                answer = client.post(
                    url + "/v1/risk/items", json={"items": items[start : start + 200]}
                )
                answer.raise_for_status()
            while True:
                counts = client.get(url + "/v1/risk/status").json()["items"]
                if counts["pending"] == 0 and counts["done"] + counts["failed"] == len(items):
                    break
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            time.sleep(1.5)  # one more background pass runs the rules on the last closed windows
            alerts = client.get(url + "/v1/risk/alerts", params={"limit": 1000}).json()["alerts"]
    finally:
        process.terminate()
        process.wait(30)
    return {"seconds": elapsed, "counts": counts, "alerts": alerts}


def rule_scores(folder: Path, surges: list[float], surge_windows: int) -> dict[str, Any]:
    """Scores of other rules on the same stored, classified items (alerts not stored)."""
    from bizlm.apps.risk.alerting import rule_alerts
    from bizlm.apps.risk.store import ItemStore

    store = ItemStore(folder / "risk.db")
    try:
        until = (store.latest_time() // HOUR) * HOUR
        return {
            name: {
                **rule.model_dump(),
                **score_alerts(rule_alerts(store, rule, "negative", until), surges, surge_windows),
            }
            for name, rule in COMPARED_RULES.items()
        }
    finally:
        store.close()


def heldout(args: argparse.Namespace, topic: Path, sentiment: Path, work: Path) -> dict:
    """The same rules on a stream with another seed, run in-process (same code, no HTTP)."""
    from bizlm.apps.risk.alerting import list_alerts
    from bizlm.apps.risk.monitor import Monitor
    from bizlm.apps.risk.workspace import InitOptions, init_folder

    items, surges = build_stream(args, args.heldout_seed)
    folder = init_folder(work / "heldout", InitOptions(topic, sentiment))
    monitor = Monitor(folder)
    try:
        monitor.ingest(items)
        monitor.step()
        alerts = list_alerts(monitor.store, 1000)
    finally:
        monitor.close()
    return {
        "seed": args.heldout_seed,
        "items": len(items),
        "surge_starts": surges,
        "default_rule": score_alerts(alerts, surges, args.surge_windows),
        "other_rules": rule_scores(folder.root, surges, args.surge_windows),
    }


def main() -> None:
    """Build the stream, run the service, score alerts and rates, print and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topic", help="topic bundle (default: train recipes/risk-topic.yaml)")
    parser.add_argument("--sentiment", help="sentiment bundle (default: train the recipe)")
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--per-hour", type=int, default=50)
    parser.add_argument("--news-share", type=float, default=0.6)
    parser.add_argument("--surges", type=int, default=6)
    parser.add_argument("--surge-windows", type=int, default=2)
    parser.add_argument("--surge-items", type=int, default=25)
    parser.add_argument("--warmup-hours", type=int, default=8)
    parser.add_argument("--min-gap", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--heldout-seed", type=int, default=11)
    args = parser.parse_args()

    from bizlm.apps.risk.rules import DEFAULT_RULES
    from bizlm.apps.risk.workspace import InitOptions, init_folder
    from bizlm.atomic import atomic_write_text

    work = Path(tempfile.mkdtemp(prefix="bench-risk-"))
    topic, sentiment = ensure_models(args, work)
    items, surges = build_stream(args, args.seed)
    folder = work / "monitor"
    init_folder(folder, InitOptions(topic_bundle=topic, sentiment_bundle=sentiment))
    live = ingest_through_service(folder, items, work)
    ingest_rate = len(items) / live["seconds"]
    offline = offline_rate(topic, sentiment, [item["text"] for item in items])
    ewma = score_alerts(live["alerts"], surges, args.surge_windows)
    others = rule_scores(folder, surges, args.surge_windows)
    held = heldout(args, topic, sentiment, work)
    result = {
        "alert_recall": ewma["recall"],
        "alert_precision": ewma["precision"],
        "median_delay_windows": ewma["median_delay_windows"],
        "ingest_items_per_s": round(ingest_rate, 2),
        "offline_items_per_s": round(offline, 2),
        "ingest_vs_offline_ratio": round(ingest_rate / offline, 3),
        "default_rule": {**DEFAULT_RULES[0].model_dump(), **ewma},
        "other_rules": others,
        "heldout": held,
        "note": "the default rule (negative count, EWMA z >= 4) was chosen after a first run "
        "on seed 7 showed the share signal missing surges that also raise the volume; the "
        "held-out seed checks it on a stream it was not chosen on",
        "stream": {
            "items": len(items),
            "windows": args.hours,
            "window": "1h",
            "per_window": args.per_hour,
            "news_share": args.news_share,
            "surges": len(surges),
            "surge_windows": args.surge_windows,
            "surge_items_per_window": args.surge_items,
            "seed": args.seed,
            "surge_starts": surges,
            "sources": "bbc-news and aapl-tweets validation+test splits, drawn with replacement",
        },
        "classified": live["counts"],
        "models": describe_models(topic, sentiment),
        "setup": "service = `bizlm app risk serve` subprocess (HTTP, SQLite, PII masking, both "
        "models, batches of 64); client posts 200 items per request at full speed; offline = "
        "predict_proba batch 32 of both models in this process; one torch thread each",
        "targets": TARGETS,
        "peak_rss_mb_bench_process": round(rss_mib(peak=True)),
        "machine": describe_machine(),
    }
    print(f"{'metric':<28}{'value':>12}")
    for key in (
        "alert_recall",
        "alert_precision",
        "median_delay_windows",
        "ingest_items_per_s",
        "offline_items_per_s",
        "ingest_vs_offline_ratio",
    ):
        print(f"{key:<28}{result[key]!s:>12}")
    for name, scored in [("heldout_default", held["default_rule"]), *others.items()]:
        print(
            f"{name + ' recall/precision':<36}{scored['recall']!s:>7} /{scored['precision']!s:>7}"
        )
    atomic_write_text(RESULTS, json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
