"""Load a parent bundle's model with its classification head grown to the new label list.

Old label ids keep their meaning: the rows of the output layer that belong to the parent's
labels are copied unchanged, and the new labels get freshly initialised rows after them.
"""

from __future__ import annotations

from pathlib import Path

import torch
import transformers
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel

from bizlm.errors import BundleError
from bizlm.inference import evaluation_mode

_WEIGHTS = "model.safetensors"


def _parent_head(model_dir: Path, model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """The parent's tensors whose shape differs in ``model`` (the resized head), read alone."""
    weights = model_dir / _WEIGHTS
    if not weights.is_file():
        raise BundleError(
            f"'{model_dir}' has no {_WEIGHTS} to continue from.",
            hint="Update the bundle written by `bizlm train` (not an ONNX or int8 export).",
        )
    state = model.state_dict()
    with safe_open(str(weights), framework="pt") as parent:
        names = parent.keys()
        stored = {name: list(parent.get_slice(name).get_shape()) for name in names}
        return {
            name: parent.get_tensor(name)
            for name, shape in stored.items()
            if name in state and shape != list(state[name].shape)
        }


def load_extended(model_dir: Path, old_labels: list[str], labels: list[str]):
    """(model, tokenizer) from ``model_dir`` with the head sized for ``labels``.

    ``labels`` must start with ``old_labels`` in order.
    """
    assert labels[: len(old_labels)] == old_labels
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the resized head is expected
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            problem_type="single_label_classification",
            ignore_mismatched_sizes=True,
        )
    finally:
        transformers.logging.set_verbosity(verbosity)
    copy_old_rows(model, _parent_head(model_dir, model), len(old_labels))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def copy_old_rows(model: PreTrainedModel, parent: dict[str, torch.Tensor], old_count: int) -> None:
    """Copy the parent's output rows into every resized head tensor of ``model``."""
    state = model.state_dict()
    resized = [
        name
        for name, tensor in parent.items()
        if name in state and state[name].shape != tensor.shape
    ]
    with torch.no_grad():
        for name in resized:
            old, new = parent[name], state[name]
            if old.shape[0] != old_count or old.shape[1:] != new.shape[1:]:
                raise BundleError(
                    f"The parent's weight '{name}' has shape {tuple(old.shape)}, which does "
                    f"not fit a head of {old_count} labels.",
                    hint="Update a bundle whose model/ came from `bizlm train` or `bizlm update`.",
                )
            new[:old_count].copy_(old)


def output_layer(model: torch.nn.Module) -> torch.nn.Linear:
    """The last linear layer of the classification head (its output is the logits)."""
    labels = int(model.config.num_labels)
    found = [
        module
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and module.out_features == labels
        and _is_head_path(name.split("."))
    ]
    if not found:
        raise BundleError(
            f"No classification output layer found in {type(model).__name__}.",
            hint="Use a backbone with a standard sequence-classification head.",
        )
    return found[-1]


def _is_head_path(parts: list[str]) -> bool:
    """A head layer's name, also inside peft's trained copy (``modules_to_save``)."""
    return "original_module" not in parts and (
        parts[-1] in _HEAD_NAMES or ("modules_to_save" in parts and bool(_HEAD_NAMES & set(parts)))
    )


_HEAD_NAMES = {"classifier", "out_proj", "score"}


@torch.inference_mode()
def head_inputs(
    model: torch.nn.Module, tokenizer, texts: list[str], max_length: int, batch_size: int
) -> list[torch.Tensor]:
    """The vector the output layer reads for each text, in input order."""
    layer = output_layer(model)
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, args, _out: captured.append(args[0]))
    try:
        with evaluation_mode(model):
            for start in range(0, len(texts), batch_size):
                encoded = tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=max_length,
                    return_tensors="pt",
                )
                model(**encoded)
    finally:
        handle.remove()
    if captured and captured[0].ndim != 2:
        raise BundleError(
            f"The head of {type(model).__name__} reads one vector per token, so a memory of "
            "head inputs would store whole sequences.",
            hint="Use continual.memory_keep: text with this backbone.",
        )
    return [row.detach().clone() for batch in captured for row in batch]
