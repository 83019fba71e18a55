"""Model server benchmark: micro-batching, throughput against offline predict, and a soak.

Side by side in one run, on one bundle, server (`bizlm serve`, in a subprocess) and load
generator on 127.0.0.1:
  * offline batched predict (batch 64) over the airline-tweets test texts: the ceiling; and
    offline one-text-per-call predict, whose ratio to it bounds the gain of batching;
  * the server with micro-batching off (max batch 1) and with it on, each under N concurrent
    clients sending one text per request: throughput and p50/p95/p99 latency;
  * a soak at the same load on the batching server: errors and server RSS growth from after
    warm-up.
The offline passes and the two servers take turns over several rounds (both servers stay up,
the one not measured is idle), so a change in the machine's load falls on all of them alike;
each figure pools its rounds (texts or requests over seconds), and every round is recorded.
Writes bench/results/serve.json.
Run: BIZLM_HOME=... python bench/serve.py --bundle runs/air [--rounds 3] [--soak-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import LoadResult, run_load  # noqa: E402
from bench.machine import describe_machine  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "serve.json"
TARGETS = {"batching_ratio": 3.0, "load_vs_offline_ratio": 0.7, "soak_memory_growth_pct": 10.0}


def load_texts() -> list[str]:
    """The airline-tweets test split (fetched once into the bizlm home)."""
    from bizlm.data.catalog import fetch

    content = (fetch("airline-tweets") / "test.jsonl").read_text(encoding="utf-8")
    # split on newlines only: str.splitlines() would also cut at U+2028 inside a tweet
    return [json.loads(line)["text"] for line in content.split("\n") if line.strip()]


def offline_threads(predictor: Any, texts: list[str]) -> dict[int, float]:
    """Batch-64 texts/s with all cores (the server's default) and with one fewer."""
    import torch

    default_threads = torch.get_num_threads()
    by_threads = {}
    for threads in sorted({default_threads, max(1, default_threads - 1)}):
        torch.set_num_threads(threads)
        seconds = offline_round(predictor, texts, single_texts=0)["batched_seconds"]
        by_threads[threads] = len(texts) / seconds
    torch.set_num_threads(default_threads)  # the server's own count
    return by_threads


def offline_round(predictor: Any, texts: list[str], single_texts: int = 300) -> dict[str, Any]:
    """Seconds of ``Predictor.predict_proba`` over the texts in batches of 64, and over the
    first ``single_texts`` one text per call (what a server without batching can do at best)."""
    started = time.perf_counter()
    predictor.predict_proba(texts, batch_size=64)
    batched = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts[:single_texts]:
        predictor.predict_proba([text])
    return {
        "texts": len(texts),
        "batched_seconds": batched,
        "single_texts": min(single_texts, len(texts)),
        "single_seconds": time.perf_counter() - started,
    }


def pooled_offline(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """Batch-64 and one-text-per-call texts/s over all rounds, and their ratio: the most
    batching can gain here, even with no server overhead at all."""
    batched = sum(r["texts"] for r in rounds) / sum(r["batched_seconds"] for r in rounds)
    single = sum(r["single_texts"] for r in rounds) / sum(r["single_seconds"] for r in rounds)
    return {
        "samples_per_s": batched,
        "single_text_samples_per_s": single,
        "batching_ceiling": batched / single,
    }


class Server:
    """`bizlm serve BUNDLE --no-auth` on a free loopback port, in its own process."""

    def __init__(
        self, bundle: Path, max_batch_size: int, max_wait_ms: float, extra: tuple[str, ...] = ()
    ) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [
            sys.executable, "-c", "from bizlm.cli import main; main()", "serve", str(bundle),
            "--no-auth", "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
            "--max-batch-size", str(max_batch_size), "--max-wait-ms", str(max_wait_ms), *extra,
        ]  # fmt: skip
        self.log = Path(tempfile.mkdtemp(prefix="bizlm-bench-")) / "server.log"
        with open(self.log, "w") as log:  # a file, not a pipe: a full pipe would block it
            self.process = subprocess.Popen(command, cwd=ROOT, stderr=log)
        self.model = bundle.resolve().name
        self._wait_ready()

    def _wait_ready(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError("server did not become ready")

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MiB."""
        from bizlm.memory import rss_mib

        return rss_mib(self.process.pid)

    def mean_batch_size(self) -> float:
        """Texts per model call so far, from the server's metrics."""
        import httpx
        from prometheus_client.parser import text_string_to_metric_families

        values = {}
        metrics = httpx.get(f"http://127.0.0.1:{self.port}/metrics").text
        for family in text_string_to_metric_families(metrics):
            if family.name == "bizlm_batch_size":
                for sample in family.samples:
                    values[sample.name] = values.get(sample.name, 0) + sample.value
        return values["bizlm_batch_size_sum"] / max(1.0, values["bizlm_batch_size_count"])

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def warm_up(server: Server, texts: list[str], clients: int) -> None:
    """A few seconds of load before anything is measured."""
    run_load(server.port, server.model, texts, clients, 5.0)


def pooled_load(server: Server, results: list[LoadResult]) -> dict[str, Any]:
    """Throughput and latency percentiles over all rounds of one server, and per round."""
    summary = LoadResult.pooled(results).summary()
    summary["throughput_rps_by_round"] = [round(len(r.latencies) / r.seconds, 1) for r in results]
    summary["mean_batch_size"] = server.mean_batch_size()
    return summary


def soak(server: Server, texts: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """Load for ``seconds`` in slices; RSS is sampled after each slice."""
    start_rss = server.rss_mb()
    samples, slices = [start_rss], []
    slice_seconds = min(10.0, seconds)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        remaining = seconds - (time.perf_counter() - started)
        slices.append(
            run_load(server.port, server.model, texts, clients, min(slice_seconds, remaining))
        )
        samples.append(server.rss_mb())
    pooled = LoadResult.pooled(slices)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "requests": len(pooled.latencies),
        "errors": pooled.errors,
        "rss_after_warmup_mb": start_rss,
        "rss_end_mb": samples[-1],
        "rss_max_mb": max(samples),
        "memory_growth_pct": 100 * (samples[-1] - start_rss) / start_rss,
        "rss_samples_mb": [round(s, 1) for s in samples],
    }


def run_rounds(
    bundle: Path, texts: list[str], servers: dict[str, Server], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Offline passes and each server's load, taking turns for ``args.rounds`` rounds."""
    import torch

    import bizlm

    predictor = bizlm.load(bundle)
    predictor.predict_proba(texts[:64])  # warm-up
    by_threads = offline_threads(predictor, texts)
    for server in servers.values():
        warm_up(server, texts, args.clients)
    offline_rounds, loads = [], {name: [] for name in servers}
    for _ in range(args.rounds):
        offline_rounds.append(offline_round(predictor, texts))
        for name, server in servers.items():
            loads[name].append(
                run_load(server.port, server.model, texts, args.clients, args.seconds)
            )
    offline = {
        **pooled_offline(offline_rounds),
        "batch_size": 64,
        "server_threads": torch.get_num_threads(),
        "samples_per_s_by_threads": by_threads,
        "rounds": offline_rounds,
    }
    return offline, {name: pooled_load(servers[name], loads[name]) for name in servers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, required=True, help="Bundle to serve.")
    parser.add_argument("--clients", type=int, default=32, help="Concurrent clients.")
    parser.add_argument("--rounds", type=int, default=3, help="Turns of every setup.")
    parser.add_argument(
        "--seconds", type=float, default=10, help="Measured seconds per setup and round."
    )
    parser.add_argument("--soak-seconds", type=float, default=60, help="Length of the soak.")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    load_before = os.getloadavg()
    texts = load_texts()
    servers: dict[str, Server] = {}
    try:
        servers["unbatched"] = Server(args.bundle, max_batch_size=1, max_wait_ms=0)
        servers["batched"] = Server(args.bundle, args.max_batch_size, args.max_wait_ms)
        offline, loads = run_rounds(args.bundle, texts, servers, args)
        servers.pop("unbatched").stop()
        soaked = soak(servers["batched"], texts, args.clients, args.soak_seconds)
    finally:
        for server in servers.values():
            server.stop()
    unbatched, batched = loads["unbatched"], loads["batched"]
    results = {
        "benchmark": "serve",
        "bundle": str(args.bundle),
        "dataset": f"airline-tweets test split ({len(texts)} texts), one text per request",
        "clients": args.clients,
        "rounds": args.rounds,
        "seconds_per_round": args.seconds,
        "machine": describe_machine(),
        "batching_ratio": batched["throughput_rps"] / unbatched["throughput_rps"],
        "batching_ceiling": offline["batching_ceiling"],
        "load_vs_offline_ratio": batched["throughput_rps"] / offline["samples_per_s"],
        "soak_errors": soaked["errors"],
        "soak_memory_growth_pct": soaked["memory_growth_pct"],
        "p99_ms": batched["p99_ms"],
        "offline": offline,
        "unbatched": {"max_batch_size": 1, **unbatched},
        "batched": {
            "max_batch_size": args.max_batch_size,
            "max_wait_ms": args.max_wait_ms,
            **batched,
        },
        "soak": soaked,
        "targets": TARGETS,
        "bench_seconds": time.perf_counter() - started,
        # other work on the machine skews every number: 1-minute load averages, before/after
        "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    results["targets_met"] = {
        "batching_ratio": results["batching_ratio"] >= TARGETS["batching_ratio"],
        "load_vs_offline_ratio": results["load_vs_offline_ratio"]
        >= TARGETS["load_vs_offline_ratio"],
        "soak_errors": soaked["errors"] == 0 and batched["errors"] == 0,
        "soak_memory_growth": soaked["memory_growth_pct"] <= TARGETS["soak_memory_growth_pct"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("unbatched", "batched"):
        r = results[name]
        print(
            f"{name:10s} {r['throughput_rps']:8.1f} req/s  p50 {r['p50_ms']:.1f} ms  "
            f"p95 {r['p95_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  errors {r['errors']}  "
            f"rounds {r['throughput_rps_by_round']}"
        )
    print(f"offline    {offline['samples_per_s']:8.1f} texts/s")
    keys = ("batching_ratio", "batching_ceiling", "load_vs_offline_ratio", "soak_errors")
    for key in (*keys, "soak_memory_growth_pct"):
        print(f"{key:24s} {results[key]:.3f}")
    print(f"targets met: {results['targets_met']}")


if __name__ == "__main__":
    main()
