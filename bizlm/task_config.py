"""The recipe's shared section base and its ``task:`` section: what to predict from which
columns. Kept apart from :mod:`bizlm.recipe`, which re-exports both."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bizlm.errors import RecipeError


class Section(BaseModel):
    """Base for recipe sections: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TaskConfig(Section):
    """What to predict from which columns (see ``bizlm.tasks`` for each type)."""

    type: Literal["classify", "tag", "score", "generate"] = Field(
        "classify",
        description="classify: one label (or several) per text; tag: a label per token (NER); "
        "score: a number per text or text pair (regression, matching, ranking); generate: an "
        "answer per prompt (instruction tuning of a causal LM).",
    )
    text_column: str = Field("text", description="Column holding the input text.")
    text_pair_column: str | None = Field(
        None, description="Second text of a pair (classify/score): query-document, user-item."
    )
    label_column: str = Field(
        "label", description="Gold label (classify), gold number (score) or, for tag, the spans."
    )
    labels: list[str] | None = Field(
        None,
        description="Fixed label list and order; default: labels seen in training, sorted. A "
        "single label is allowed for the first stage of a class-incremental stream.",
    )
    multi_label: bool = Field(False, description="classify: each text may carry several labels.")
    label_delimiter: str = Field(
        "|", min_length=1, description="multi_label: separator of labels given as one string."
    )
    group_column: str | None = Field(
        None, description="score: group (user, query) for ranking metrics and group-wise splits."
    )
    loss: Literal["mse", "huber"] = Field("mse", description="score: regression loss.")
    tokens_column: str = Field("tokens", description="tag (JSONL): column of the word list.")
    spans_column: str = Field(
        "entities", description="tag (JSONL): column of character spans {start, end, label}."
    )
    tags_column: str = Field("tags", description="tag (JSONL): column of the tag list.")
    tag_repair: Literal["strict", "lenient"] = Field(
        "strict",
        description="tag: an I- tag that follows nothing is an error (strict) or becomes B- "
        "with a warning (lenient).",
    )
    prompt_column: str = Field(
        "prompt", description="generate: column of the prompt (rows without 'messages')."
    )
    response_column: str = Field(
        "response", description="generate: column of the answer to learn (rows without messages)."
    )
    system: str | None = Field(
        None, description="generate: system message of conversations that bring none."
    )
    chat_template: str | None = Field(
        None,
        description="generate: Jinja chat template that formats conversations; default: the "
        "tokenizer's own, else a ChatML-style one.",
    )
    preference: bool = Field(
        False,
        description="generate: rows are preference pairs {prompt, chosen, rejected} (optional "
        "system), learned with method dpo.",
    )
    long_inputs: Literal["auto", "truncate", "head_tail", "window"] = Field(
        "auto",
        description="Texts longer than train.max_length: cut and count them (truncate); keep "
        "their start (a quarter of the token budget) and their end (the rest) (head_tail; "
        "classify and score); or cover them with overlapping windows (window: a tagger tags "
        "every word; a single-label classifier trains on each window and averages their "
        "probabilities). auto: window for tag, truncate for the others.",
    )

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[str] | None) -> list[str] | None:
        if labels is not None and len(set(labels)) != len(labels):
            raise ValueError("labels must be unique")
        if labels is not None and len(labels) < 1:
            raise ValueError("give at least one label")
        return labels

    @model_validator(mode="after")
    def _options_fit_type(self) -> TaskConfig:
        if self.multi_label and self.type != "classify":
            raise ValueError(f"multi_label applies to type classify, not {self.type}")
        if self.group_column and self.type != "score":
            raise ValueError("group_column applies to type score")
        if self.text_pair_column and self.type == "tag":
            raise ValueError("text_pair_column applies to types classify and score, not tag")
        if self.labels is not None and self.type == "score":
            raise ValueError("labels do not apply to type score (it predicts a number)")
        if self.labels is not None and self.type == "generate":
            raise ValueError("labels do not apply to type generate (it writes text)")
        if self.text_pair_column and self.type == "generate":
            raise ValueError("text_pair_column applies to types classify and score, not generate")
        generation_options = (
            self.prompt_column != "prompt",
            self.response_column != "response",
            self.system is not None,
            self.chat_template is not None,
            self.preference,
        )
        if self.type != "generate" and any(generation_options):
            raise ValueError(
                "prompt_column, response_column, system, chat_template and preference apply to "
                "type generate"
            )
        return self

    @model_validator(mode="after")
    def _long_inputs_fit_type(self) -> TaskConfig:
        if self.long_inputs in ("head_tail", "window") and self.type == "generate":
            raise RecipeError(
                f"task.long_inputs: {self.long_inputs} does not apply to generate: a long "
                "conversation keeps its end (the prompt is cut from the left).",
                hint="Use auto or truncate, or raise train.max_length.",
            )
        if self.long_inputs == "head_tail" and self.type == "tag":
            raise RecipeError(
                "task.long_inputs: head_tail applies to classify and score, not tag: a tagger "
                "must see every word of a sentence to tag it.",
                hint="Use window (the tagger's default) or truncate.",
            )
        refused = (
            "text-pair"
            if self.text_pair_column
            else "score"
            if self.type == "score"
            else "multi-label classify"
            if self.multi_label
            else None
        )
        if self.long_inputs == "window" and refused:
            raise RecipeError(
                f"task.long_inputs: window does not apply to {refused} tasks; windows cover "
                "the single texts of a single-label classifier, or a tagger's sentences.",
                hint="Use head_tail to keep the start and the end of long texts, or truncate.",
            )
        return self
