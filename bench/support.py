"""Support desk benchmark on the demo desk (trec question types, written FAQ).

In one run:
  * build the demo project (`bizlm app support init --demo`) and train it: held-out test
    intent accuracy and out-of-scope precision/recall (8 trec question types are never trained
    on; half of their sampled questions tune the threshold, half are tested);
  * FAQ retrieval of the held-out customer wordings (bizlm/apps/support/demo/
    faq_test_queries.jsonl, one per entry; never in the project): hit@1, hit@5 and MRR for
    hybrid (weighted RRF, BM25 weight tuned by training on the project's faq_queries.jsonl)
    against BM25-only and embedding-only; also the two files' roles swapped (tuned on the
    test wordings, scored on the tuning ones);
  * the same intent decisions by a TF-IDF + logistic-regression model, trained and calibrated
    on the same splits (bench/support_baseline.py);
  * chat latency: `bizlm app support serve` in a subprocess on 127.0.0.1, one client sending
    the test wordings and the held-out test questions one at a time: p50/p95/p99; then 8
    sessions at once on the streaming route: time to the first event.
Updates its keys in bench/results/support.json (bench/support_rag.py adds the others).
Run: BIZLM_HOME=... OMP_NUM_THREADS=1 python bench/support.py [--per-intent 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402
from bench.support_baseline import baseline_intent_scores  # noqa: E402
from bench.support_server import desk_server, sequential_latency, streamed_latency  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "support.json"
TARGETS = {"hybrid_mrr_margin": 0.0}


def with_distractors(index: Any, count: int, seed: int) -> Any:
    """The FAQ index plus ``count`` trec questions as distractor entries (never the answer)."""
    import random

    from bizlm.apps.support.faq_files import FaqEntry
    from bizlm.apps.support.retrieval import FaqIndex
    from bizlm.apps.support.scaffold import trec_rows

    questions = sorted({row["text"] for row in trec_rows()})
    picked = random.Random(seed).sample(questions, count)
    extra = [FaqEntry(f"trec-{i}", q, q) for i, q in enumerate(picked)]  # answer: itself
    return FaqIndex.build([*index.entries, *extra], index.encoder, index.rrf_k)


def retrieval_scores(index: Any, queries: list[Any], bm25_weight: float) -> dict[str, Any]:
    """hit@1, hit@5 and MRR of each ranker over the queries, and hybrid's margin over the
    better single ranker."""
    from bizlm.apps.support.fusion import gold_ranks, rank_metrics
    from bizlm.apps.support.retrieval import MODES

    scored = [index.scores(q.question) for q in queries]
    scores: dict[str, Any] = {
        mode: rank_metrics(gold_ranks(index, queries, mode, bm25_weight, scored)) for mode in MODES
    }
    scores["bm25_weight"] = bm25_weight
    better = max(("bm25", "embedding"), key=lambda mode: scores[mode]["mrr"])
    reciprocal = {
        mode: 1.0 / gold_ranks(index, queries, mode, bm25_weight, scored)
        for mode in ("hybrid", better)
    }
    differences = reciprocal["hybrid"] - reciprocal[better]
    scores["hybrid_mrr_margin"] = float(differences.mean())
    scores["hybrid_mrr_margin_se"] = float(differences.std(ddof=1) / np.sqrt(len(differences)))
    scores["better_single_ranker"] = better
    return scores


def main() -> None:
    """Train the demo desk, measure it, print a table and write the JSON."""
    import torch

    from bizlm.apps.support.agent import SupportAgent
    from bizlm.apps.support.faq_files import read_faq_queries
    from bizlm.apps.support.fusion import tune_bm25_weight
    from bizlm.apps.support.retrieval import MODES
    from bizlm.apps.support.scaffold import DEMO_TEST_QUERIES, init_demo
    from bizlm.apps.support.training import train_project
    from bizlm.atomic import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-intent", type=int, default=60)
    parser.add_argument("--out-of-scope-per-type", type=int, default=15)
    parser.add_argument("--distractors", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=8, help="concurrent streamed chats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "demo-desk"
        init_demo(
            project, per_intent=args.per_intent, out_of_scope_per_type=args.out_of_scope_per_type
        )
        started = time.perf_counter()
        info = train_project(project)
        train_seconds = time.perf_counter() - started
        agent = SupportAgent(project)
        test_queries = read_faq_queries(DEMO_TEST_QUERIES, agent.project.faq)
        tuning_queries = agent.project.faq_queries
        with_others = with_distractors(agent.faq, args.distractors, seed=7)
        retrieval = retrieval_scores(with_others, test_queries, agent.faq.bm25_weight)
        swapped_weight = tune_bm25_weight(agent.faq, test_queries)["bm25_weight"]
        retrieval_swapped = retrieval_scores(with_others, tuning_queries, swapped_weight)
        retrieval_demo_faq_only = retrieval_scores(agent.faq, test_queries, agent.faq.bm25_weight)
        test_rows = (project / "build" / "data" / "test.jsonl").read_text().splitlines()
        messages = [q.question for q in test_queries]
        messages += [json.loads(row)["text"] for row in test_rows if row.strip()]
        del agent
        baseline = baseline_intent_scores(project)
        with desk_server(project) as url:
            latency = sequential_latency(url, messages)
            streamed = streamed_latency(url, messages, sessions=args.sessions)
    margin = retrieval["hybrid_mrr_margin"]
    test = info["test"]
    result = {
        "hybrid_mrr_margin": margin,
        "intent_accuracy": test["intent_accuracy"],
        "oos_precision": test["oos_precision"],
        "oos_recall": test["oos_recall"],
        "chat_p95_ms": latency["p95_ms"],
        "chat_first_token_p95_ms": streamed["first_event"]["p95_ms"],
        "baseline_intent_accuracy": baseline["test"]["intent_accuracy"],
        "baseline_oos_precision": baseline["test"]["oos_precision"],
        "baseline_oos_recall": baseline["test"]["oos_recall"],
        "targets": TARGETS,
        "met": {"hybrid_mrr_margin": margin > TARGETS["hybrid_mrr_margin"]},
        "retrieval": retrieval,
        "retrieval_queries": len(test_queries),
        "retrieval_index": f"{info['faq_entries']} demo FAQ entries + {args.distractors} "
        "distractor entries (trec questions, sampled with seed 7)",
        "faq_fusion": info["faq_fusion"],
        "retrieval_swapped": retrieval_swapped,
        "hybrid_mrr_margin_both_folds": (margin + retrieval_swapped["hybrid_mrr_margin"]) / 2,
        "retrieval_demo_faq_only": retrieval_demo_faq_only,
        "faq_entries": info["faq_entries"],
        "intents": {
            "method": info["method"],
            "labels": info["labels"],
            "examples": info["examples"],
            "calibration": info["calibration"],
            "test": test,
            "train_seconds": round(train_seconds, 1),
        },
        "intent_baseline": baseline,
        "chat_latency": latency,
        "chat_stream": streamed,
        "setup": {
            "data": "trec catalog set: 12 fine question types as intents, "
            f"{args.per_intent} sampled questions each (subsample of the 5,381 questions); "
            f"8 other types held out as out-of-scope, {args.out_of_scope_per_type} each",
            "model": "default (all-MiniLM-L6-v2), method and settings of the demo recipe",
            "latency": "one client, sequential requests, server and client on one machine",
            "stream": f"{args.sessions} sessions at once, each streaming its share of the "
            "same messages in turn; first_event: time to the first server-sent event (the "
            "whole reply for template, FAQ and hand-off answers, the first checked sentence "
            "of a generated one)",
        },
        "machine": describe_machine(),
    }
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    atomic_write_text(RESULTS, json.dumps({**kept, **result}, indent=2) + "\n")
    print(f"{'ranker':<10} {'hit@1':>7} {'hit@5':>7} {'MRR':>7}")
    for mode in MODES:
        scores = retrieval[mode]
        print(
            f"{mode:<10} {scores['hit_at_1']:7.3f} {scores['hit_at_5']:7.3f} {scores['mrr']:7.3f}"
        )
    print(f"hybrid MRR margin over the better single ranker: {margin:+.3f}")
    print(
        f"intent accuracy {test['intent_accuracy']:.3f}; out-of-scope precision "
        f"{test['oos_precision']:.3f}, recall {test['oos_recall']:.3f}"
    )
    print(
        f"TF-IDF baseline: intent accuracy {baseline['test']['intent_accuracy']:.3f}; "
        f"out-of-scope precision {baseline['test']['oos_precision']:.3f}, "
        f"recall {baseline['test']['oos_recall']:.3f}"
    )
    print(
        f"chat latency p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms "
        f"({latency['requests']} requests, {latency['errors']} errors)"
    )
    print(
        f"streamed, {streamed['sessions']} sessions: first event p95 "
        f"{streamed['first_event']['p95_ms']:.1f} ms ({streamed['errors']} errors)"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
