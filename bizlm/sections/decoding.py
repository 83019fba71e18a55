"""The recipe's ``decoding:`` section: how a ``generate`` model writes its answers.

The settings are saved in the bundle; ``predictor.generate(prompts, **overrides)`` may change
any of them for one call. Decoding is greedy unless ``do_sample`` is on.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bizlm.errors import RecipeError


class DecodingConfig(BaseModel):
    """Generation settings of task type generate; greedy by default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_new_tokens: int = Field(
        128, ge=1, le=32768, description="Most tokens generated per answer."
    )
    do_sample: bool = Field(
        False, description="Sample the next token (with temperature and top_p); false: greedy."
    )
    temperature: float | None = Field(
        None, gt=0, le=100, description="do_sample: softening of the next-token distribution."
    )
    top_p: float | None = Field(
        None, gt=0, le=1, description="do_sample: sample from this much probability mass."
    )
    stop: list[str] = Field(
        default_factory=list,
        description="Strings that end an answer; the answer is cut before the first one.",
    )

    @field_validator("stop")
    @classmethod
    def _stops_not_empty(cls, stop: list[str]) -> list[str]:
        if any(not text for text in stop):
            raise ValueError("a stop string must not be empty")
        return stop

    @model_validator(mode="after")
    def _sampling_options_need_sampling(self) -> DecodingConfig:
        for name in ("temperature", "top_p"):
            if getattr(self, name) is not None and not self.do_sample:
                raise ValueError(f"{name} applies only with do_sample: true (greedy otherwise)")
        return self


def check_decoding(config: DecodingConfig, task_type: str) -> None:
    """Refuse decoding settings in the recipe of a task that does not generate text."""
    if task_type != "generate" and config != DecodingConfig():
        raise RecipeError(
            f"The decoding section applies to task type generate, not {task_type}.",
            hint="Remove the decoding section from the recipe.",
        )
