"""`bizlm app recommend train DIR`: both text models, the ranker, and held-out figures.

1. Read the files and split leave-last-out by time.
2. Bi-encoder: contrastive tuning on (profile, next item) pairs from training histories, then
   the item-vector index (``models/bi-encoder``).
3. Text scorer: ``bizlm.train`` on the same pairs plus seeded sampled negatives
   (``models/scorer``, task ``score``, LoRA by default).
4. Ranker: features of each sampled user's validation item and its sampled negatives, built
   from training histories only, labelled 1 / 0; positives weighted down by their item's
   popularity (``ranker.popularity_debias``) (``models/ranker.joblib``).
5. Test figures on a seeded user sample: history = training + validation items.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.recommend.behaviour import Behaviour, last_seen_times
from bizlm.apps.recommend.biencoder import BiEncoder
from bizlm.apps.recommend.config import RecommendRecipe, load_recommend_recipe
from bizlm.apps.recommend.evaluation import Case, Ranking, build_cases, rank_cases
from bizlm.apps.recommend.interactions import InteractionData, read_interactions
from bizlm.apps.recommend.layout import AppLayout
from bizlm.apps.recommend.pairs import positive_pairs, with_negatives
from bizlm.apps.recommend.ranker import (
    RankerRows,
    TextModels,
    describe_ranker,
    feature_matrix,
    fit_ranker,
    save_ranker,
)
from bizlm.apps.recommend.scorer import TextScorer, train_scorer
from bizlm.apps.recommend.split import LeaveLastOut, leave_last_out, sample_users
from bizlm.atomic import atomic_write_text
from bizlm.errors import DataError
from bizlm.progress import Reporter


@dataclass
class Trained:
    """Everything `train` fitted, kept in memory for evaluation."""

    recipe: RecommendRecipe
    data: InteractionData
    split: LeaveLastOut
    models: TextModels
    ranker: Any
    ranker_rows: RankerRows
    validation_behaviour: Behaviour
    seconds: dict[str, float] = field(default_factory=dict)


def behaviour_before(split: LeaveLastOut, stage: str, item_count: int, recent: int) -> Behaviour:
    """Behaviour statistics of the histories seen before ``stage`` (validation or test)."""
    histories = split.history_until(stage)
    return Behaviour(
        histories, item_count, last_seen_times(histories, split.times, item_count), recent
    )


def fit(folder: Path, reporter: Reporter) -> Trained:
    """Train the bi-encoder, the text scorer and the ranker of the application in ``folder``."""
    layout = AppLayout(folder)
    recipe = load_recommend_recipe(folder)
    data = read_interactions(recipe.data)
    split = leave_last_out(data)
    sampling = recipe.sampling
    rng = np.random.default_rng(sampling.seed)
    items = len(data.item_ids)
    learners = [user for user, history in enumerate(split.train) if len(history) >= 2]
    if not learners or not split.validation:
        raise DataError(
            f"{recipe.data.interactions} has too little history to learn from: "
            f"{len(learners)} users with 2+ training events, {len(split.validation)} with a "
            "validation item.",
            hint="Each user needs 3 or more events (the last two are held out).",
        )
    users = sample_users(learners, sampling.max_train_users, rng)
    positives = positive_pairs(
        split.train,
        users,
        data.item_texts,
        sampling.recent_items,
        sampling.train_positives_per_user,
    )
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    bi_encoder = BiEncoder.from_backbone(recipe.model, recipe.bi_encoder.max_length)
    tuning = bi_encoder.tune(
        [p.profile for p in positives],
        [data.item_texts[p.item] for p in positives],
        recipe.bi_encoder,
        sampling.seed,
        reporter,
    )
    vectors = bi_encoder.embed(data.item_texts)
    bi_encoder.save(
        layout.bi_encoder, data.item_ids, vectors, {"pairs": len(positives), "tuning": tuning}
    )
    seconds["bi_encoder"] = time.perf_counter() - started
    started = time.perf_counter()
    pairs = with_negatives(positives, split.train, items, sampling.negatives_per_positive, rng)
    result = train_scorer(recipe, pairs, data.item_texts, layout.work, layout.scorer, reporter)
    seconds["scorer"] = time.perf_counter() - started
    models = TextModels(
        TextScorer(result.bundle), bi_encoder, vectors, data.item_texts, sampling.recent_items
    )
    started = time.perf_counter()
    behaviour = behaviour_before(split, "validation", items, sampling.recent_items)
    rows = ranker_rows(recipe, split, models, behaviour, rng)
    weights = rows.weights(behaviour.counts, recipe.ranker.popularity_debias)
    ranker = fit_ranker(rows, weights, recipe.ranker.model, sampling.seed)
    save_ranker(ranker, layout.ranker)
    seconds["ranker"] = time.perf_counter() - started
    return Trained(recipe, data, split, models, ranker, rows, behaviour, seconds)


def ranker_rows(
    recipe: RecommendRecipe,
    split: LeaveLastOut,
    models: TextModels,
    behaviour: Behaviour,
    rng: np.random.Generator,
) -> RankerRows:
    """Features of sampled users' validation items (1) and their sampled negatives (0)."""
    sampling = recipe.sampling
    items = len(behaviour.counts)
    users = sample_users(sorted(split.validation), sampling.max_ranker_users, rng)
    cases = build_cases(split.train, split.validation, users, items, sampling.ranker_negatives, rng)
    return RankerRows(
        np.vstack([feature_matrix(models, behaviour, c.history, c.candidates) for c in cases]),
        np.concatenate([[1] + [0] * (len(c.candidates) - 1) for c in cases]),
        np.concatenate([c.candidates for c in cases]),
    )


def test_cases(trained: Trained, users: list[int]) -> tuple[list[Case], Behaviour]:
    """Test cases of ``users`` (held-out item first, seeded negatives) and the behaviour
    statistics of everything before the test items."""
    sampling = trained.recipe.sampling
    items = len(trained.data.item_ids)
    split = trained.split
    behaviour = behaviour_before(split, "test", items, sampling.recent_items)
    histories = split.history_until("test")
    rng = np.random.default_rng(sampling.seed + 1)
    cases = build_cases(histories, split.test, users, items, sampling.evaluation_negatives, rng)
    return cases, behaviour


def evaluate_ranker(trained: Trained, users: list[int]) -> Ranking:
    """Rank the test item of ``users`` against sampled negatives with the full ranker."""
    cases, behaviour = test_cases(trained, users)

    def score(history: list[int], candidates: np.ndarray) -> np.ndarray:
        return trained.ranker.score(feature_matrix(trained.models, behaviour, history, candidates))

    return rank_cases(cases, score, len(trained.data.item_ids))


def train_application(folder: Path, reporter: Reporter) -> dict[str, Any]:
    """Train everything, measure on a seeded sample of test users, write models/report.json."""
    trained = fit(folder, reporter)
    sampling = trained.recipe.sampling
    rng = np.random.default_rng(sampling.seed + 2)
    users = sample_users(sorted(trained.split.test), sampling.max_evaluation_users, rng)
    ranking = evaluate_ranker(trained, users)
    report = {
        "data": trained.data.report,
        "split": trained.split.describe(),
        "seconds": trained.seconds,
        "ranker": {"model": trained.recipe.ranker.model, **describe_ranker(trained.ranker)},
        "test": {
            "protocol": f"held-out last item vs {sampling.evaluation_negatives} sampled negatives",
            "sampled_users_seed": sampling.seed + 2,
            **ranking.summary(),
        },
    }
    atomic_write_text(AppLayout(folder).report, json.dumps(report, indent=2) + "\n")
    return report
