"""The bundle manifest, ``bizlm.json``: what a bundle holds, how it was made and how it scored.

:class:`BundleInfo` types the keys today's bundles carry (training, ensembles, continual
updates, exports, distillation, prompting, application bundles) and derives the facts several
readers need (the max length with its one default, the task type, the method). Keys it does
not name are kept as they are, so a manifest survives a read and a write unchanged.
:func:`parse_info` turns the file's JSON into a :class:`BundleInfo`, or a :class:`BundleError`
naming the file and the field or format that is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bizlm.errors import BundleError

#: 2: classify and score apply task.long_inputs (format 1 cut their texts)
#: 3: a bundle may blend an n-gram model into its outputs (``blend``, ``ngram/``)
BUNDLE_FORMAT = 3
INFO_FILE = "bizlm.json"
DEFAULT_MAX_LENGTH = 128
_RETRAIN = "Retrain the bundle."
_SECTIONS = ("recipe", "data", "metrics", "calibration", "compression", "continual")


class BundleInfo(BaseModel):
    """The content of a bundle's ``bizlm.json``; fields a writer never set are not written."""

    model_config = ConfigDict(extra="allow")

    format: int = 1
    versions: dict[str, str] = Field(default_factory=dict)
    created: str | None = None
    task: str = "classify"
    labels: list[str]
    recipe: dict[str, Any] = Field(default_factory=dict)
    backbone: dict[str, Any] | str | None = None
    parent: str | dict[str, Any] | None = None
    lineage: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None
    merged: bool = True
    calibration: dict[str, Any] = Field(default_factory=dict)
    runtime: str = "transformers"
    compression: dict[str, Any] = Field(default_factory=dict)
    parity: dict[str, Any] | None = None
    rejected: bool = False
    distillation: dict[str, Any] | None = None
    ensemble: dict[str, Any] | None = None
    blend: dict[str, Any] | None = None
    prompt: dict[str, Any] | None = None
    continual: dict[str, Any] = Field(default_factory=dict)
    kind: str | None = None

    @field_validator(*_SECTIONS, mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        """A section recorded as null reads as empty."""
        return {} if value is None else value

    @property
    def backbone_reference(self) -> str | None:
        """The model reference the bundle was trained from (an alias, folder or hub id)."""
        if isinstance(self.backbone, dict):
            return self.backbone.get("reference")
        return self.backbone

    @property
    def backbone_location(self) -> str | None:
        """The folder the backbone was loaded from (None: not recorded)."""
        return self.backbone.get("location") if isinstance(self.backbone, dict) else None

    @property
    def parent_bundle(self) -> str | None:
        """The bundle this one was made from (an update, export or distillation)."""
        return self.parent.get("bundle") if isinstance(self.parent, dict) else self.parent

    @property
    def task_settings(self) -> dict[str, Any]:
        """The recipe's ``task`` section (empty when the bundle records no recipe)."""
        return dict(self.recipe.get("task") or {})

    @property
    def task_type(self) -> str:
        """The task the model was trained for: classify, score or tag."""
        return str(self.task_settings.get("type", "classify"))

    @property
    def method_settings(self) -> dict[str, Any]:
        """The recipe's ``method`` section: ``name`` and the method's options."""
        return dict(self.recipe.get("method") or {})

    @property
    def method_name(self) -> str:
        """The adaptation method the model was trained with (``full`` when not recorded)."""
        return str(self.method_settings.get("name", "full"))

    @property
    def train_settings(self) -> dict[str, Any]:
        """The recipe's ``train`` section."""
        return dict(self.recipe.get("train") or {})

    @property
    def max_length(self) -> int:
        """The most tokens per input the model reads."""
        return int(self.train_settings.get("max_length", DEFAULT_MAX_LENGTH))

    @property
    def quantize(self) -> str:
        """How the weights were quantised by an export (``none``: not quantised)."""
        return str(self.compression.get("quantize", "none"))

    def as_json(self) -> dict[str, Any]:
        """The manifest as ``bizlm.json`` holds it: the fields that were set, then the keys
        this model does not name."""
        return self.model_dump(exclude_unset=True)


def parse_info(raw: Any, where: Path) -> BundleInfo:
    """The manifest read from ``where`` (already parsed JSON), upgraded to this format; raise
    :class:`BundleError` naming the file and the field or format version that is wrong."""
    if not isinstance(raw, dict):
        raise BundleError(f"{where} is not a JSON object.", hint=_RETRAIN)
    version = raw.get("format", 1)
    if isinstance(version, int) and not isinstance(version, bool) and version > BUNDLE_FORMAT:
        raise BundleError(
            f"{where}: this bundle was written by a newer bizlm (format {version}); this "
            f"bizlm reads up to format {BUNDLE_FORMAT}; upgrade bizlm.",
            hint="Run `pip install --upgrade bizlm`, or use the bizlm that wrote the bundle.",
        )
    try:
        info = BundleInfo.model_validate(raw)
    except ValidationError as exc:
        raise BundleError(_describe(exc, where), hint=_RETRAIN) from None
    return _upgraded(info)


def _describe(exc: ValidationError, where: Path) -> str:
    """The first problem of a manifest that does not validate, naming the field."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"{where} lacks the required field '{field}'."
    return f"{where}: field '{field}' is invalid ({error['msg']})."


def _upgraded(info: BundleInfo) -> BundleInfo:
    """``info`` as the current format reads it. Format 1 recorded ``task.long_inputs: window``
    for every task but cut the texts of classify and score bundles: they say truncate now."""
    task = info.recipe.get("task")
    if info.format < 2 and isinstance(task, dict) and task.get("type") != "tag":
        task["long_inputs"] = "truncate"
    return info
