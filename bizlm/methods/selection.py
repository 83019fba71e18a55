"""Find the parts of a task model that methods train or freeze: head, layers, named modules."""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import PreTrainedModel

from bizlm.errors import RecipeError


def head_module_names(model: PreTrainedModel) -> list[str]:
    """Short names of the task head: every top-level module with weights outside the backbone,
    plus the backbone's pooler layers when it has one (BERT's classifier reads the pooler)."""
    prefix = model.base_model_prefix
    names = [
        name
        for name, module in model.named_children()
        if name != prefix and any(True for _ in module.parameters())
    ]
    pooler = getattr(getattr(model, prefix, None), "pooler", None)
    if pooler is not None:  # named by its layers: some peft wrappers need a weighted module
        names += [
            f"pooler.{name}"
            for name, child in pooler.named_children()
            if any(True for _ in child.parameters())
        ]
    return names


def is_head_parameter(model: PreTrainedModel, name: str) -> bool:
    """True for a parameter that belongs to the task head."""
    heads = head_module_names(model)
    prefix = model.base_model_prefix
    top = name.split(".", 1)[0]
    return (top != prefix and top in heads) or name.startswith(f"{prefix}.pooler.")


def freeze_except(model: torch.nn.Module, keep: Callable[[str], bool]) -> None:
    """Freeze every parameter whose name ``keep`` rejects; leave the others trainable."""
    for name, parameter in model.named_parameters():
        parameter.requires_grad = keep(name)


def encoder_layer_prefixes(model: PreTrainedModel) -> list[str]:
    """Prefixes of the transformer blocks, bottom to top (the longest ModuleList of the model)."""
    best: list[str] = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > len(best):
            best = [f"{name}.{index}" for index in range(len(module))]
    if not best:
        raise RecipeError("This backbone has no list of transformer layers to select from.")
    return best


def check_targets(targets: list[str] | None, model: torch.nn.Module, key: str) -> None:
    """Refuse target module names that match nothing, listing the names that exist."""
    names = [name for name, _ in model.named_modules() if name]
    for target in targets or []:
        if not any(n == target or n.endswith(f".{target}") for n in names):
            leaves = sorted({n.rsplit(".", 1)[-1] for n in names})
            raise RecipeError(
                f"method.{key}: '{target}' matches no module of the backbone.",
                hint=f"Module names that exist: {', '.join(leaves)}.",
            )
