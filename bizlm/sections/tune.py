"""The recipe's optional ``tune:`` section: the search space of ``bizlm tune``.

``bizlm train`` ignores it. Each parameter is a recipe key; a range whose two ends are equal
(or a single rank choice) fixes that key. ``method.r`` is searched only for methods with a rank.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TuneSpace(BaseModel):
    """Ranges searched by ``bizlm tune``; defaults are centred on the recipe's own values."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    learning_rate: tuple[float, float] | None = Field(
        None,
        description="train.learning_rate, log-uniform [low, high]; default a tenth to ten "
        "times the recipe's value (at most 0.5).",
    )
    epochs: tuple[int, int] | None = Field(
        None, description="train.epochs, integers [low, high]; default half to twice the recipe's."
    )
    warmup_ratio: tuple[float, float] = Field(
        (0.0, 0.2), description="train.warmup_ratio, uniform [low, high]."
    )
    r: list[int] = Field(
        [4, 8, 16, 32], min_length=1, description="method.r choices (LoRA-like methods only)."
    )

    @field_validator("learning_rate", "epochs", "warmup_ratio")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and bounds[0] > bounds[1]:
            raise ValueError(f"give [low, high] with low <= high, got {list(bounds)}")
        return bounds

    @field_validator("learning_rate")
    @classmethod
    def _learning_rate(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and not (bounds[0] > 0 and bounds[1] < 1):
            raise ValueError("learning rates must lie between 0 and 1")
        return bounds

    @field_validator("epochs")
    @classmethod
    def _epochs(cls, bounds: tuple[int, int] | None) -> tuple[int, int] | None:
        if bounds is not None and bounds[0] < 1:
            raise ValueError("epochs start at 1")
        return bounds

    @field_validator("warmup_ratio")
    @classmethod
    def _warmup(cls, bounds: tuple[float, float]) -> tuple[float, float]:
        if not (bounds[0] >= 0 and bounds[1] < 1):
            raise ValueError("warmup ratios must lie in [0, 1)")
        return bounds

    @field_validator("r")
    @classmethod
    def _ranks(cls, ranks: list[int]) -> list[int]:
        if any(rank < 1 for rank in ranks):
            raise ValueError("ranks must be at least 1")
        return ranks
