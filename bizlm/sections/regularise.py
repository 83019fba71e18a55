"""The recipe's ``regularise:`` section: switches against overfitting small or noisy data.

Every switch is off by default, but class weighting, which follows the training split's label
balance (``auto``). :func:`check_regularise` refuses a switch that does not apply to
the recipe's task, naming both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from bizlm.errors import RecipeError

#: class weighting (``class_weights: auto``) turns on when the smallest label has under this
#: share of an even split; the baseline and ``bizlm init`` follow the same rule
IMBALANCE_SHARE_OF_EVEN = 0.5

if TYPE_CHECKING:
    from bizlm.task_config import TaskConfig


class RegulariseConfig(BaseModel):
    """Regularisation and robustness switches; off by default (class weights: auto)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    label_smoothing: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="classify (single-label) and tag: spread this share of each target's "
        "probability evenly over all labels in the cross-entropy.",
    )
    rdrop_alpha: float = Field(
        0.0,
        ge=0,
        description="classify: R-Drop; run every batch twice with dropout and add this weight "
        "times the symmetric KL divergence between the two predicted distributions.",
    )
    fgm_epsilon: float = Field(
        0.0,
        ge=0,
        description="Every task: FGM adversarial training; after each backward pass, shift the "
        "word embeddings by epsilon along their normalised gradient, add the gradients of a "
        "second pass, then restore them.",
    )
    class_weights: Literal["auto", "none", "balanced"] = Field(
        "auto",
        description="classify (single-label): weight each class in the cross-entropy "
        "inversely to its frequency in the training split (balanced); auto: balanced when the "
        "smallest label has under half of an even share of the training split, else none. "
        "The choice is written into the bundle's recipe.",
    )
    augment: int = Field(
        0,
        ge=0,
        le=20,
        description="classify and score: add this many seeded, edited copies of every training "
        "text (random word swap, deletion and insertion; CJK text is edited per character).",
    )
    ensemble: int = Field(
        1,
        ge=1,
        le=16,
        description="classify and score: train this many members with seeds train.seed, "
        "train.seed+1, …; predictions average their probabilities (scores for score).",
    )
    augment_rate: float = Field(
        0.1,
        gt=0,
        le=1,
        description="augment: share of the words of a text that each copy edits (at least one).",
    )


#: which task variants every switch applies to, and the value that means "off"
_APPLIES_TO: dict[str, tuple[tuple[str, ...], object]] = {
    "label_smoothing": (("classify", "tag"), 0.0),
    "rdrop_alpha": (("classify", "classify/multi_label"), 0.0),
    "class_weights": (("classify",), "none"),
    "augment": (("classify", "classify/multi_label", "score"), 0),
    "ensemble": (("classify", "classify/multi_label", "score"), 1),
}
_NAMES = {
    "classify": "classify",
    "classify/multi_label": "multi-label classify",
    "tag": "tag",
    "score": "score",
    "generate": "generate",
}


def check_regularise(config: RegulariseConfig, task: TaskConfig) -> None:
    """Refuse a regularisation switch that the recipe's task type cannot use."""
    variant = f"{task.type}/multi_label" if task.multi_label else task.type
    for switch, (tasks, off) in _APPLIES_TO.items():
        value = getattr(config, switch)
        if value in (off, "auto") or variant in tasks:
            continue
        able = ", ".join(_NAMES[name] for name in tasks)
        raise RecipeError(
            f"regularise.{switch}={value!r} does not apply to task '{_NAMES[variant]}'.",
            hint=f"It applies to: {able}. Remove regularise.{switch} from the recipe.",
        )
