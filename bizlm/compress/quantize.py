"""PyTorch quantisation: dynamic int8 linear layers and bfloat16 weights."""

from __future__ import annotations

import warnings

import torch
from torch import nn


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """Replace every ``nn.Linear`` by a dynamically quantised int8 one (weights int8,
    activations quantised per batch at run time)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eager-mode quantisation is deprecated but supported
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def to_bfloat16(model: nn.Module) -> nn.Module:
    """Cast every floating-point weight to bfloat16."""
    return model.to(torch.bfloat16)


def apply_torch_quantization(model: nn.Module, quantize: str) -> nn.Module:
    """Quantise a PyTorch model as ``--quantize`` says (``none`` returns it unchanged)."""
    if quantize == "dynamic-int8":
        return quantize_dynamic_int8(model)
    if quantize == "bf16":
        return to_bfloat16(model)
    return model
