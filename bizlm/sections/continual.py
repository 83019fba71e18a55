"""The recipe's ``continual:`` section: how ``bizlm update`` keeps what a model already knows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ContinualConfig(BaseModel):
    """Settings of continual updates (``bizlm update``); ``bizlm train`` ignores them."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    strategy: str = Field(
        "replay",
        description="How an update avoids forgetting: naive, replay, ewc, lwf or adapters "
        "(`bizlm update --strategy`).",
    )
    memory_per_class: int = Field(
        20,
        ge=0,
        description="Replay memory: at most this many past examples per label, kept by "
        "class-balanced reservoir sampling and stored in the bundle (0: no memory).",
    )
    memory_keep: Literal["text", "embeddings"] = Field(
        "text",
        description="What the memory stores: the texts, or only the vectors the classification "
        "head reads (for data whose raw text may not be kept; replay then trains the head "
        "on them, and no raw text of past stages is stored at all).",
    )
    replay_balance: Literal["prior", "repeat", "off"] = Field(
        "prior",
        description="How remembered labels, with few examples each, stand against the new "
        "labels: 'prior' trains with logits shifted by each label's log share of the update's "
        "examples (balanced softmax), so rare labels are not outvoted; 'repeat' repeats each "
        "remembered label's examples until it weighs about as much as an average new label; "
        "'off' mixes them in once, as they are.",
    )

    @field_validator("replay_balance", mode="before")
    @classmethod
    def _balance_from_bool(cls, value: object) -> object:
        """Recipes written before the choice had three values said true (repeat) or false."""
        if isinstance(value, bool):
            return "repeat" if value else "off"
        return value

    ewc_lambda: float = Field(
        1.0,
        ge=0,
        description="ewc: weight of the penalty on moving parameters the past stages relied "
        "on (the Fisher information is scaled to mean 1, so this is scale-free).",
    )
    ewc_decay: float = Field(
        1.0,
        ge=0,
        le=1,
        description="ewc: the stored Fisher information is multiplied by this before the new "
        "stage's is added (online EWC; 1 keeps every stage's full weight).",
    )
    fisher_samples: int = Field(
        256, ge=1, description="ewc: examples used to estimate the Fisher information."
    )
    lwf_alpha: float = Field(
        1.0, ge=0, description="lwf: weight of distilling the previous model's old-label outputs."
    )
    lwf_temperature: float = Field(2.0, gt=0, description="lwf: softening temperature.")
    adapter_rank: int = Field(8, ge=1, description="adapters: LoRA rank of each update's adapter.")
    eval_per_stage: int = Field(
        300,
        ge=1,
        description="Held-out examples of each stage kept in the bundle (memory_keep: text) to "
        "measure forgetting in later updates.",
    )
