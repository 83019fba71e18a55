"""Export a PyTorch classifier to ONNX with dynamic batch and sequence axes."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from torch import nn

OPSET = 17
OUTPUT_NAME = "logits"
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids")


class _LogitsOnly(nn.Module):
    """Positional inputs in, logits out: the signature the ONNX graph gets."""

    def __init__(self, model: nn.Module, input_names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.input_names = input_names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.input_names, inputs, strict=True))).logits


def model_input_names(tokenizer) -> tuple[str, ...]:
    """The inputs the tokenizer produces, in the order the graph takes them."""
    produced = set(tokenizer("a").keys())
    return tuple(name for name in INPUT_ORDER if name in produced)


def export_onnx(model: nn.Module, input_names: tuple[str, ...], target: Path) -> Path:
    """Trace ``model`` (a copy: tracing leaves state behind) into ``target`` (one file).

    Batch and sequence length are dynamic axes; the output is ``logits`` of shape
    (batch, labels), in float32.
    """
    traced = _LogitsOnly(copy.deepcopy(model).float().eval(), input_names)
    example = _example_inputs(input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes[OUTPUT_NAME] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on Python-level shape checks
        torch.onnx.export(
            traced,
            example,
            str(target),
            input_names=list(input_names),
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return Path(target)


def _example_inputs(input_names: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    """Two rows of different lengths, so the traced graph keeps the padding mask path."""
    values = {
        "input_ids": torch.tensor([[2, 7, 8, 9, 10, 3], [2, 7, 3, 0, 0, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]]),
        "token_type_ids": torch.zeros(2, 6, dtype=torch.long),
    }
    return tuple(values[name] for name in input_names)
