"""The text scorer: a cross-encoder fine-tuned with ``bizlm.train`` (task ``score``).

Training rows are (profile, item text, 1 or 0, user); the task splits validation by user, so
no user's pairs leak between training and the checkpoint choice. The result is an ordinary
bizlm bundle, loadable with ``bizlm.load`` and servable with ``bizlm serve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.apps.recommend.config import RecommendRecipe
from bizlm.apps.recommend.pairs import Pair
from bizlm.data.readers import write_table
from bizlm.loading import load
from bizlm.progress import Reporter
from bizlm.training.run import train

VALIDATION_SHARE = 0.1


def scorer_recipe(recipe: RecommendRecipe, train_file: Path, output: Path) -> dict[str, Any]:
    """The bizlm training recipe of the scorer."""
    scorer = recipe.scorer
    return {
        "model": recipe.model,
        "task": {
            "type": "score",
            "text_column": "profile",
            "text_pair_column": "item_text",
            "label_column": "label",
            "group_column": "user",
        },
        "data": {
            "train": str(train_file),
            "split": {"train": 1 - VALIDATION_SHARE, "validation": VALIDATION_SHARE, "test": 0.0},
            "seed": recipe.sampling.seed,
        },
        "method": scorer.method,
        "train": {
            "epochs": scorer.epochs,
            "batch_size": scorer.batch_size,
            "learning_rate": scorer.learning_rate,
            "max_length": scorer.max_length,
            "warmup_ratio": 0.06,
            "early_stopping_patience": None,
            "seed": recipe.sampling.seed,
        },
        "output": str(output),
    }


def train_scorer(
    recipe: RecommendRecipe,
    pairs: list[Pair],
    item_texts: list[str],
    work: Path,
    output: Path,
    reporter: Reporter,
) -> Any:
    """Write the pairs to ``work/scorer-train.jsonl`` and train; returns bizlm's TrainResult."""
    rows = [
        {
            "profile": pair.profile,
            "item_text": item_texts[pair.item],
            "label": pair.label,
            "user": str(pair.user),
        }
        for pair in pairs
    ]
    train_file = work / "scorer-train.jsonl"
    write_table(train_file, rows)
    return train(scorer_recipe(recipe, train_file, output), reporter=reporter)


class TextScorer:
    """Scores (profile, item text) pairs with a trained scorer bundle."""

    def __init__(self, bundle: Path) -> None:
        self.predictor = load(bundle)

    def score(self, profiles: Sequence[str], items: Sequence[str]) -> np.ndarray:
        """One score per pair."""
        if not profiles:
            return np.zeros(0)
        return self.predictor.predict_proba(list(profiles), pairs=list(items))[:, 0]
