"""Recommender benchmark on MovieLens 100K: baselines and the full ranker side by side.

One run: `bizlm app recommend init --catalog ml-100k`, the recipe recipes/recommend-ml-100k.yaml,
training (bi-encoder, LoRA text scorer, ranker), then every test case is scored once into
features, from which each system ranks the held-out item against 99 sampled negatives:

- popularity: the number of training users of the item;
- item-CF: item-based collaborative filter (cosine of co-occurrence, numpy);
- bi-encoder: text only, profile-item similarity;
- text scorer: text only, the fine-tuned cross-encoder;
- full ranker: the learned combination of text and behaviour features.

Users: a seeded sample for the overall figures, plus every user whose held-out item has fewer
than 5 training interactions (cold items; reported on their own). Also measured: training time
and ranking latency for one user over 1,000 candidates. Writes bench/results/recommend.json.
Run: OMP_NUM_THREADS=1 python bench/recommend.py [--users N] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe_machine  # noqa: E402

COLD_BELOW = 5
LATENCY_CANDIDATES = 1000
LATENCY_RUNS = 2
SYSTEMS = ("popularity", "item_cf", "bi_encoder", "text_scorer", "full_ranker")
VARIANTS = {  # other rankers fitted on the same rows, shown for comparison only
    "ranker_unweighted": ("logistic", 0.0),
    "ranker_boosting": ("boosting", None),  # None: the recipe's popularity_debias
}
BASELINES = ("popularity", "item_cf")
COLD_GAIN = 0.20  # the full ranker's cold-item NDCG@10 must reach 1.2x item-CF's


def _variants(trained: Any) -> dict[str, Any]:
    from bizlm.apps.recommend.ranker import fit_ranker

    rows = trained.ranker_rows
    counts = trained.validation_behaviour.counts
    fitted = {"full_ranker": trained.ranker}
    for name, (kind, debias) in VARIANTS.items():
        strength = trained.recipe.ranker.popularity_debias if debias is None else debias
        weights = rows.weights(counts, strength)
        fitted[name] = fit_ranker(rows, weights, kind, trained.recipe.sampling.seed)
    return fitted


def _scores(system: str, features: np.ndarray, rankers: dict[str, Any]) -> np.ndarray:
    from bizlm.apps.recommend.ranker import FEATURES

    columns = {
        "popularity": "popularity",
        "item_cf": "collaborative",
        "bi_encoder": "bi_encoder",
        "text_scorer": "text_score",
    }
    if system in rankers:
        return rankers[system].score(features)
    return features[:, FEATURES.index(columns[system])]


def _latency(
    trained: Any, behaviour: Any, history: list[int], rng: np.random.Generator
) -> dict[str, Any]:
    """Seconds to rank 1,000 candidates for one user: two-stage (the recipe's rerank_top
    cross-encoded) and every candidate cross-encoded, side by side."""
    from bizlm.apps.recommend.ranker import rank_candidates

    count = min(LATENCY_CANDIDATES, len(trained.data.item_ids))
    candidates = rng.choice(len(trained.data.item_ids), size=count, replace=False)
    rerank_top = trained.recipe.ranker.rerank_top
    result: dict[str, Any] = {"candidates": count, "rerank_top": rerank_top}
    for name, top in (("two_stage", rerank_top), ("all_cross_encoded", count)):
        seconds = []
        for _ in range(LATENCY_RUNS):
            started = time.perf_counter()
            rank_candidates(trained.ranker, trained.models, behaviour, history, candidates, top)
            seconds.append(time.perf_counter() - started)
        result[name] = {"runs_s": seconds, "median_s": statistics.median(seconds)}
    result["median_s"] = result["two_stage"]["median_s"]
    result["speedup"] = result["all_cross_encoded"]["median_s"] / result["median_s"]
    return result


def _gain(full: dict[str, float], baseline: dict[str, float], metric: str) -> float | None:
    """Percent by which ``full`` beats ``baseline`` on ``metric``; None when baseline is 0."""
    if not baseline.get(metric):
        return None
    return 100.0 * (full[metric] - baseline[metric]) / baseline[metric]


def _beats_by(full: dict[str, float], baseline: dict[str, float], metric: str) -> bool:
    """Whether ``full`` reaches (1 + COLD_GAIN) x ``baseline`` on ``metric`` and is above 0.

    A baseline at 0 is beaten by any positive score: the ratio has no finite value, but the
    margin is larger than any percentage.
    """
    return full[metric] > 0 and full[metric] >= (1 + COLD_GAIN) * baseline[metric]


def main() -> None:
    """Train, score every system on the same cases, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="Seeded sample of test users.")
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs" / "bench-recommend")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from bizlm.apps.recommend.evaluation import rank_scored
    from bizlm.apps.recommend.ranker import describe_ranker, feature_matrix
    from bizlm.apps.recommend.setup import init_application
    from bizlm.apps.recommend.split import sample_users
    from bizlm.apps.recommend.training import fit, test_cases
    from bizlm.progress import Reporter

    shutil.rmtree(args.workdir, ignore_errors=True)
    folder = args.workdir / "app"
    init_application(folder, catalog_name="ml-100k")
    shutil.copyfile(ROOT / "recipes" / "recommend-ml-100k.yaml", folder / "recipe.yaml")
    started = time.perf_counter()
    trained = fit(folder, Reporter())
    train_seconds = time.perf_counter() - started
    sampling = trained.recipe.sampling
    everyone = sorted(trained.split.test)
    sampled = sample_users(everyone, args.users, np.random.default_rng(sampling.seed + 2))
    _, behaviour = test_cases(trained, [])
    cold_users = [u for u in everyone if behaviour.counts[trained.split.test[u]] < COLD_BELOW]
    users = sorted(set(sampled) | set(cold_users))
    cases, behaviour = test_cases(trained, users)
    started = time.perf_counter()
    features = [feature_matrix(trained.models, behaviour, c.history, c.candidates) for c in cases]
    scoring_seconds = time.perf_counter() - started
    in_sample = np.array([c.user in set(sampled) for c in cases])
    is_cold = np.array([c.user in set(cold_users) for c in cases])
    items = len(trained.data.item_ids)
    np.savez_compressed(
        args.workdir / "test-features.npz",
        features=np.stack(features),
        users=np.array([c.user for c in cases]),
        candidates=np.stack([c.candidates for c in cases]),
    )
    rankers = _variants(trained)
    results: dict[str, Any] = {}
    for system in (*SYSTEMS, *VARIANTS):
        ranking = rank_scored(cases, [_scores(system, f, rankers) for f in features], items)
        results[system] = {
            "overall": ranking.summary(mask=in_sample),
            "cold_items": ranking.summary(mask=is_cold),
        }
    best_baseline = max(BASELINES, key=lambda name: results[name]["overall"]["ndcg10"])
    full = results["full_ranker"]
    cold = {name: results[name]["cold_items"] for name in ("item_cf", "full_ranker")}
    margin = full["overall"]["ndcg10"] - results[best_baseline]["overall"]["ndcg10"]
    latency = _latency(
        trained, behaviour, cases[0].history, np.random.default_rng(sampling.seed + 3)
    )
    payload = {
        "benchmark": "recommend",
        "dataset": "ml-100k (recbole==1.2.1), every rating an implicit positive",
        "protocol": "leave-last-out by time; held-out item vs 99 sampled unseen items; ties "
        "count half; coverage = share of the catalog in some user's top 10 of the 100",
        "subsample": {
            "overall_users": len(sampled),
            "overall_users_seed": sampling.seed + 2,
            "cold_item_users": len(cold_users),
            "cold_item_rule": f"held-out item has < {COLD_BELOW} training interactions",
            "test_users_available": len(everyone),
            "recipe": "recipes/recommend-ml-100k.yaml",
        },
        "model": trained.recipe.model,
        "hr10": full["overall"]["hr10"],
        "ndcg10": full["overall"]["ndcg10"],
        "ndcg_margin": margin,
        "best_baseline": best_baseline,
        "cold_item_gain_pct": _gain(cold["full_ranker"], cold["item_cf"], "ndcg10"),
        "cold_item_gain_note": "full ranker vs item-CF NDCG@10 on cold-item users, percent; "
        "null when item-CF scores 0 there (no finite ratio): see cold_item_gains",
        "cold_item_gains": {
            metric: _gain(cold["full_ranker"], cold["item_cf"], metric)
            for metric in ("hr10", "ndcg10", "mrr", "auc")
        },
        "targets": {"ndcg_margin": 0.0, "cold_item_gain_pct": 100 * COLD_GAIN},
        "met": {
            "ndcg_margin": margin > 0,
            "cold_item_gain": _beats_by(cold["full_ranker"], cold["item_cf"], "ndcg10"),
        },
        "systems": results,
        "ranker": {"model": trained.recipe.ranker.model, **describe_ranker(trained.ranker)},
        "data": trained.data.report,
        "split": trained.split.describe(),
        "train_seconds": {"total": train_seconds, **trained.seconds},
        "test_scoring_seconds": scoring_seconds,
        "latency_one_user": latency,
        "machine": describe_machine(),
    }
    out = ROOT / "bench" / "results" / "recommend.json"
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"{'system':<18}{'HR@10':>8}{'NDCG@10':>9}{'MRR':>7}{'AUC':>7}{'cover':>7}"
          f"{'cold NDCG@10':>14}")  # fmt: skip
    for system in (*SYSTEMS, *VARIANTS):
        o, c = results[system]["overall"], results[system]["cold_items"]
        print(
            f"{system:<18}{o['hr10']:>8.3f}{o['ndcg10']:>9.3f}{o['mrr']:>7.3f}{o['auc']:>7.3f}"
            f"{o['coverage']:>7.3f}{c.get('ndcg10', float('nan')):>14.3f}"
        )
    print(f"ndcg_margin {payload['ndcg_margin']:+.4f} vs {best_baseline}; cold_item_gain_pct "
          f"{payload['cold_item_gain_pct']}; met {payload['met']}; train {train_seconds:.0f}s; "
          f"1 user x "
          f"{latency['candidates']} candidates {latency['median_s']:.2f}s")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
