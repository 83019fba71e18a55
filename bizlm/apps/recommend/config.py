"""The recommender's recipe (``DIR/recipe.yaml``): data columns, models, sampling, ranker.

Every section forbids unknown keys, and validation errors name the key, like the training
recipe (``bizlm.recipe``). Relative data paths are read from the application folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from bizlm.errors import RecipeError
from bizlm.recipe import Section
from bizlm.yaml_files import read_yaml_mapping, validate_mapping

RECIPE_FILE = "recipe.yaml"


class RecommendData(Section):
    """Where the interactions and item texts are, and which columns hold what."""

    interactions: Path = Field(
        description="Events file (CSV/TSV/JSONL/Parquet): user, item, time, event."
    )
    items: Path = Field(description="Items file: item id and text fields.")
    user_column: str = "user"
    item_column: str = "item"
    time_column: str = Field("timestamp", description="Epoch seconds or an ISO date/time.")
    event_column: str | None = Field(None, description="Event type or rating (optional).")
    min_event_value: float | None = Field(
        None, description="With a numeric event column: events below this are not positives."
    )
    text_columns: list[str] | None = Field(
        None, description="Item text fields, joined in this order; default: every other column."
    )
    encoding: str = "utf-8"


class Sampling(Section):
    """Seeded negative sampling and user subsamples."""

    seed: int = 13
    recent_items: int = Field(5, ge=1, le=50, description="Items in a user's profile text.")
    train_positives_per_user: int = Field(
        4, ge=1, description="Latest training items per user that become positive pairs."
    )
    negatives_per_positive: int = Field(3, ge=1, le=100)
    max_train_users: int | None = Field(None, ge=1, description="Users sampled for training.")
    ranker_negatives: int = Field(9, ge=1, le=100, description="Per validation positive.")
    max_ranker_users: int | None = Field(300, ge=2)
    evaluation_negatives: int = Field(99, ge=1)
    max_evaluation_users: int | None = Field(
        200, ge=1, description="Users sampled for the test figures `train` reports."
    )


class BiEncoderConfig(Section):
    """Contrastive (in-batch negatives) tuning of one encoder for profiles and items."""

    epochs: int = Field(1, ge=1, le=100)
    batch_size: int = Field(32, ge=2)
    learning_rate: float = Field(3e-5, gt=0, lt=1)
    temperature: float = Field(0.05, gt=0, le=1)
    max_length: int = Field(64, ge=8, le=512)
    candidates: int = Field(100, ge=1, description="Nearest items taken from the index.")


class ScorerConfig(Section):
    """The cross-encoder text scorer: a bizlm ``score`` recipe on (profile, item) pairs."""

    method: dict[str, Any] = Field(
        default_factory=lambda: {"name": "lora", "r": 8, "alpha": 16},
        description="The training recipe's method section.",
    )
    epochs: int = Field(1, ge=1, le=100)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(1e-3, gt=0, lt=1)
    max_length: int = Field(96, ge=8, le=512)


class RankerConfig(Section):
    """The learned ranking model over text score and behaviour features."""

    model: Literal["logistic", "boosting"] = Field(
        "logistic", description="logistic regression or histogram gradient boosting."
    )
    popularity_debias: float = Field(
        0.5,
        ge=0,
        le=2,
        description="Weight each positive training row by (1 + item users)^-this, so the ranker "
        "does not just learn to follow popularity; 0: unweighted.",
    )
    collaborative_candidates: int = Field(50, ge=0)
    popular_candidates: int = Field(20, ge=0)
    rerank_top: int = Field(
        100,
        ge=1,
        description="Candidates per request that the cross-encoder scores; a shortlist model "
        "over the other features picks them (at least k are always kept).",
    )


class RecommendRecipe(Section):
    """The whole recommender recipe."""

    model: str = Field("default", description="Backbone of both text models.")
    data: RecommendData
    sampling: Sampling = Field(default_factory=Sampling)
    bi_encoder: BiEncoderConfig = Field(default_factory=BiEncoderConfig)
    scorer: ScorerConfig = Field(default_factory=ScorerConfig)
    ranker: RankerConfig = Field(default_factory=RankerConfig)


def load_recommend_recipe(folder: Path) -> RecommendRecipe:
    """Read and validate ``folder/recipe.yaml``; data paths become relative to ``folder``."""
    path = Path(folder) / RECIPE_FILE
    if not path.is_file():
        raise RecipeError(
            f"'{folder}' has no {RECIPE_FILE}.",
            hint=f"Create the application with `bizlm app recommend init {folder}`.",
        )
    recipe = validate_mapping(RecommendRecipe, read_yaml_mapping(path), path)
    for name in ("interactions", "items"):
        value = getattr(recipe.data, name)
        if not value.is_absolute():
            setattr(recipe.data, name, Path(folder) / value)
    return recipe
