"""Recipe options of the prompt-learning methods: label descriptions, templates, verbalisers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bizlm.method_config import MethodConfig

DEFAULT_TEMPLATE = (
    "Classify the text into one of these categories: {labels}.\n\nText: {text}\n\n"
    "Answer with the category only."
)


def check_template(template: str) -> str:
    """A prompt template must say where the text goes."""
    if "{text}" not in template:
        raise ValueError("the template needs a {text} slot where the input text goes")
    return template


class LabelDescription(BaseModel):
    """What one label means, in any language."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(
        "", description="A sentence saying what texts of this label are about."
    )
    examples: list[str] = Field(
        default_factory=list, description="Example phrases of this label (zero-shot: no training)."
    )
    verbaliser: str | None = Field(
        None,
        description="generative: the answer word(s) the language model should give; "
        "default: the label name.",
    )


class ZeroShotConfig(MethodConfig):
    """Classify from label descriptions alone: no labelled examples are used."""

    name: Literal["zeroshot"] = "zeroshot"
    mode: Literal["embedding", "generative"] = Field(
        "embedding",
        description="embedding: cosine similarity between the text and each label's description "
        "with the encoder; generative: the small generative LM scores each label's verbaliser.",
    )
    labels: dict[str, LabelDescription] = Field(
        default_factory=dict,
        description="Every label with its description (a string is the description); the "
        "label order is task.labels when given, else this mapping's order.",
    )
    scale: float = Field(
        30.0, gt=0, le=1000, description="embedding: logits are scale × cosine similarity."
    )
    template: str = Field(
        DEFAULT_TEMPLATE,
        description="generative: the prompt; {text} is the input, {labels} the verbalisers "
        "joined with commas.",
    )
    calibrate: bool | Literal["auto"] = Field(
        "auto",
        description="generative: divide out the label prior measured on content-free inputs "
        "(contextual calibration); auto: only when it scores better on the validation split "
        "(without one, not at all: a small model's prior can be too skewed to divide by).",
    )
    generator: str = Field(
        "smollm2", description="generative: the language model (alias, local directory or hub id)."
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _descriptions_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {
                str(label): {"description": spec} if isinstance(spec, str) else spec
                for label, spec in value.items()
            }
        return value

    _template_has_text_slot = field_validator("template")(check_template)


class FewShotConfig(MethodConfig):
    """Contrastive fine-tuning of the sentence encoder on a few examples, then a linear head."""

    name: Literal["fewshot"] = "fewshot"
    per_label_in_batch: int = Field(
        2,
        ge=2,
        le=64,
        description="Examples of one label placed together in a contrastive batch: every batch "
        "holds train.batch_size / this many labels, so each example meets same-label and "
        "other-label partners and the work grows linearly with the number of labels.",
    )
    loss: Literal["pairs", "supcon"] = Field(
        "pairs",
        description="Encoder loss over a batch's pairs: pairs (SetFit's regression of each "
        "pair's cosine towards 1 for the same label and 0 otherwise) or supcon (each text's "
        "same-label partners win a softmax over its partners, at `temperature`).",
    )
    temperature: float = Field(
        0.03, gt=0, le=1, description="Softmax temperature of the supcon loss."
    )
    frozen_layers: int = Field(
        0,
        ge=0,
        description="Transformer layers, counted from the bottom, that contrastive tuning "
        "leaves at their pretrained weights; the embeddings below them always stay.",
    )
    keep_pretrained: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Share of the pretrained weights mixed back into each tuned weight after "
        "contrastive tuning (weight-space ensembling, as in WiSE-FT): 0 keeps the tuned "
        "encoder as it is; higher values keep more of what the pretrained encoder knew.",
    )
    head_c: float = Field(
        1.0, gt=0, description="Inverse L2 strength of the logistic-regression head."
    )


class PetConfig(MethodConfig):
    """Pattern-exploiting training: LoRA on the generative LM so that, under the template, it
    answers each training text with its label's verbaliser."""

    name: Literal["pet"] = "pet"
    template: str = Field(
        DEFAULT_TEMPLATE,
        description="The prompt; {text} is the input, {labels} the verbalisers joined by commas.",
    )
    verbalisers: dict[str, str] = Field(
        default_factory=dict,
        description="Answer word(s) per label; a label left out answers with its own name.",
    )
    generator: str = Field(
        "smollm2", description="The language model (alias, local directory or hub id)."
    )
    r: int = Field(8, ge=1, le=256, description="LoRA rank.")
    alpha: float = Field(16, gt=0, description="LoRA scaling numerator (update scaled alpha/r).")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"],
        description="Linear layers that get LoRA updates.",
    )

    _template_has_text_slot = field_validator("template")(check_template)
