"""The recipe: one YAML file that drives data, backbone, method, training and output.

Every section is a pydantic model that forbids unknown keys, so a typo is an error that names
the key and suggests the nearest valid one. ``--set a.b=c`` overrides are applied to the raw
mapping before validation. The resolved recipe (every default filled in) is saved in the bundle.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SerializeAsAny, field_validator, model_validator

from bizlm.encodings import bad_character, printable
from bizlm.errors import RecipeError
from bizlm.methods import MethodConfig, method_class, method_config_class
from bizlm.sections.continual import ContinualConfig
from bizlm.sections.decoding import DecodingConfig, check_decoding
from bizlm.sections.regularise import RegulariseConfig, check_regularise
from bizlm.sections.track import TrackConfig
from bizlm.sections.tune import TuneSpace
from bizlm.task_config import Section, TaskConfig
from bizlm.yaml_files import read_yaml_mapping, validate_mapping


class SplitConfig(Section):
    """Fractions used to split the training file when no validation/test file is given."""

    train: float = Field(0.8, gt=0, lt=1)
    validation: float = Field(0.1, gt=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions must sum to 1, got {total:g}")
        return self


class DataConfig(Section):
    """Where the examples come from: files, or a catalog dataset name."""

    catalog: str | None = Field(None, description="Catalog dataset name (see `bizlm data list`).")
    train: Path | None = Field(None, description="Training file (CSV, TSV, JSONL, Parquet).")
    validation: Path | None = Field(
        None, description="Validation file; split from train if absent."
    )
    test: Path | None = Field(None, description="Test file; split from train if absent.")
    encoding: str = Field("utf-8", description="Text encoding of CSV/TSV/JSONL files.")
    split: SplitConfig = Field(default_factory=SplitConfig)
    seed: int = Field(13, description="Seed of the split made from the training file.")
    max_train_examples: int | None = Field(
        None, gt=0, description="Use at most this many training examples (stratified sample)."
    )
    max_validation_examples: int | None = Field(
        None,
        gt=0,
        description="Score at most this many validation examples (stratified sample), to keep "
        "evaluations during training cheap; the test split is always used whole.",
    )
    shots: int | None = Field(
        None,
        gt=0,
        description="Few-shot budget: train on this many examples of each label, drawn from the "
        "training split with train.seed (single-label classify; any method).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if self.catalog is not None and self.train is not None:
            raise ValueError("give exactly one of data.catalog or data.train")
        if self.catalog is not None and (self.validation or self.test):
            raise ValueError("data.validation/test cannot be combined with data.catalog")
        return self


class TrainConfig(Section):
    """Optimisation and schedule."""

    epochs: int = Field(3, ge=1, le=1000)
    batch_size: int = Field(
        32,
        ge=1,
        le=65536,
        description="Examples per batch; with N processes, per process (N times this in all).",
    )
    eval_batch_size: int = Field(64, ge=1, le=65536)
    learning_rate: float = Field(5e-5, gt=0, lt=1)
    head_learning_rate: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Learning rate of the task head (null: learning_rate). A new, randomly "
        "initialised head often needs a larger rate than the pretrained layers under it.",
    )
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0, lt=1)
    gradient_accumulation_steps: int = Field(1, ge=1, le=1024)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(128, ge=8, le=8192)
    early_stopping_patience: int | None = Field(
        2, ge=1, description="Stop after this many evaluations without improvement; null: never."
    )
    early_stopping_metric: Literal[
        "auto", "loss", "macro_f1", "accuracy", "micro_f1", "f1", "pearson", "spearman"
    ] = Field(
        "auto",
        description="Validation metric that picks the best checkpoint; auto: macro_f1 for "
        "classify, micro_f1 for multi-label, entity f1 for tag, spearman for score.",
    )
    evaluations_per_epoch: int = Field(1, ge=1, le=100)
    group_by_length: bool = Field(True, description="Batch texts of similar length together.")
    padding: Literal["longest", "max_length"] = Field(
        "longest", description="Pad each batch to its longest text, or always to max_length."
    )
    seed: int = 42
    checkpoint_every: int | None = Field(
        None,
        ge=1,
        description="Write a resumable checkpoint to <output>.checkpoints/ every this many "
        "optimizer steps (bizlm train --resume continues from the latest); null: never.",
    )
    keep_checkpoints: int = Field(
        2, ge=1, description="Checkpoints kept: the last this many, plus the best one."
    )
    mixed_precision: Literal["no", "bf16", "fp16"] = Field(
        "no",
        description="Compute in bfloat16 (CPU or GPU) or float16 (GPU only) where safe; "
        "weights and optimizer stay float32.",
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass: less memory, more time."
    )


class EvaluationConfig(Section):
    """What every trained model is compared with, and when a run counts as a failure."""

    baseline: bool = Field(
        True,
        description="Train a TF-IDF + logistic-regression baseline (ridge regression for score) "
        "on the same training split and score it on the same splits, beside the model "
        "(classify and score; seconds).",
    )
    blend: bool | None = Field(
        None,
        description="Blend the baseline's TF-IDF model into the trained model's outputs, "
        "(1 - w) * model + w * baseline, with the weight w in 0.0-0.9 that scores best on "
        "validation (0: no blend); the bundle keeps the n-gram model in ngram/. Full and "
        "parameter-efficient methods, classify and score; null: on when baseline is on.",
    )
    min_margin: float | None = Field(
        None,
        description="Gate: the run fails (exit code 3, after the bundle is written) unless the "
        "model's headline metric beats the baseline's by at least this many points (macro-F1 "
        "x 100 for classify); null: report only.",
    )

    @model_validator(mode="after")
    def _needs_baseline(self) -> EvaluationConfig:
        if self.min_margin is not None and not self.baseline:
            raise ValueError("min_margin is a margin over the baseline: it needs baseline: true")
        if self.blend and not self.baseline:
            raise ValueError("blend mixes the baseline into the model: it needs baseline: true")
        return self


class Recipe(Section):
    """A whole recipe."""

    model: str = Field("default", description="Backbone: alias, local directory or hub id.")
    task: TaskConfig = Field(default_factory=TaskConfig)
    data: DataConfig
    method: SerializeAsAny[MethodConfig] = Field(
        default_factory=lambda: method_config_class("full")()
    )
    train: TrainConfig = Field(
        default_factory=TrainConfig,
        description="Keys left out take the method's defaults (learning rate and the like), "
        "then the section's own.",
    )
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    regularise: RegulariseConfig = Field(default_factory=RegulariseConfig)
    track: TrackConfig = Field(default_factory=TrackConfig)
    tune: TuneSpace | None = Field(None, description="Search space of `bizlm tune`.")
    continual: ContinualConfig = Field(
        default_factory=ContinualConfig, description="How `bizlm update` avoids forgetting."
    )
    decoding: DecodingConfig = Field(
        default_factory=DecodingConfig, description="How a generate model writes its answers."
    )
    output: Path | None = Field(None, description="Bundle directory; default runs/<recipe name>.")

    @field_validator("method", mode="before")
    @classmethod
    def _method_by_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"name": value}
        if isinstance(value, dict):
            name = value.get("name", "full")
            return method_config_class(name).model_validate(value)
        return value

    @model_validator(mode="after")
    def _method_train_defaults(self) -> Recipe:
        """Fill the train keys the recipe leaves out with the method's own defaults."""
        given = self.train.model_fields_set
        for key, value in method_class(self.method.name).train_defaults.settings().items():
            if key not in given:
                setattr(self.train, key, value)
        return self

    @model_validator(mode="after")
    def _sections_fit_task(self) -> Recipe:
        check_regularise(self.regularise, self.task)
        check_decoding(self.decoding, self.task.type)
        return self

    @model_validator(mode="after")
    def _data_fits_method(self) -> Recipe:
        method = method_class(self.method.name)
        if self.data.catalog is None and self.data.train is None and method.needs_training_data:
            raise RecipeError(
                "The recipe's data section needs a source: give exactly one of data.catalog or "
                "data.train.",
                hint="Only method zeroshot works without training data.",
            )
        method.check_recipe(self)
        return self

    def resolved(self) -> dict[str, Any]:
        """The recipe with every default filled in, as plain JSON-ready data."""
        return self.model_dump(mode="json")


def set_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``a.b=c`` override to a raw recipe mapping; the value is parsed as YAML."""
    bad = bad_character(assignment)
    if bad:
        raise RecipeError(
            f"Override '{printable(assignment)}' holds {bad}.",
            hint="Type the override as plain UTF-8 text, e.g. --set task.text_column=body.",
        )
    if "=" not in assignment:
        raise RecipeError(
            f"Override '{assignment}' has no '='.", hint="Write it as --set train.epochs=2."
        )
    dotted, _, text = assignment.partition("=")
    keys = [k for k in dotted.strip().split(".") if k]
    if not keys:
        raise RecipeError(f"Override '{assignment}' names no key.", hint="Write --set a.b=value.")
    node = raw
    for key in keys[:-1]:
        if isinstance(node.get(key), str) and key == "method":
            node[key] = {"name": node[key]}
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise RecipeError(f"Override '{assignment}': '{key}' is not a section.")
    try:
        node[keys[-1]] = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RecipeError(
            f"Override '{assignment}': the value is not valid YAML ({problem}).",
            hint="Check its brackets and quotes (a list is written [a, b]), and quote the whole "
            "override for your shell.",
        ) from None


def load_recipe(
    source: str | Path | dict[str, Any], overrides: list[str] | tuple[str, ...] = ()
) -> Recipe:
    """Read a recipe from a YAML path (or a mapping), apply ``--set`` overrides, validate it."""
    where = "recipe"
    if isinstance(source, dict):
        raw = copy.deepcopy(source)  # overrides must not change the caller's mapping
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise RecipeError(f"Recipe file '{path}' does not exist.", hint="Check the path.")
        raw = read_yaml_mapping(path)
        if raw.get("output") is None:
            raw["output"] = str(Path("runs") / path.stem)
    for assignment in overrides:
        set_override(raw, assignment)
    return validate_recipe(raw, where)


def validate_recipe(raw: dict[str, Any], where: str = "recipe") -> Recipe:
    """Validate a raw mapping, turning pydantic errors into one clear :class:`RecipeError`."""
    return validate_mapping(Recipe, raw, where, RecipeError, {"method": _method_section})


def _method_section(node: Any) -> tuple[type[MethodConfig], str]:
    """The options model and the name of the method a raw ``method`` section names."""
    name = str((node.get("name") if isinstance(node, dict) else node) or "full")
    return method_config_class(name), f"method '{name}'"
