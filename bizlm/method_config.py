"""The base of every method's recipe options (``method:``), kept outside ``bizlm.methods`` so
that option classes can be imported without importing, and registering, every method."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MethodConfig(BaseModel):
    """Options shared by every method; each method subclasses this with its own fields."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field("full", description="Adaptation method.")


@dataclass(frozen=True)
class TrainDefaults:
    """The ``train:`` settings a method starts from when the recipe leaves them out.

    A method that trains a few new parameters on a frozen backbone (LoRA, IA3, virtual tokens)
    needs a far larger learning rate than full fine-tuning; one rate for every method leaves
    some of them learning nothing. ``None`` keeps the train section's own default.
    """

    learning_rate: float
    head_learning_rate: float | None = None
    epochs: int | None = None
    warmup_ratio: float | None = None
    basis: str = ""  # where the values come from: a measured sweep, or the method's paper

    def settings(self) -> dict[str, Any]:
        """The train keys this method sets, with their values (``basis`` excluded)."""
        values = asdict(self)
        values.pop("basis")
        return {key: value for key, value in values.items() if value is not None}
