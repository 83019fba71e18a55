"""Pruning: attention heads by importance (Michel et al., 2019) and weights by magnitude.

Head importance is the mean absolute gradient of the task loss with respect to a gate on each
head's output, on labelled validation data; heads are then removed from the query, key, value
and output projections. Magnitude pruning zeroes the smallest weights of every encoder linear
layer with ``torch.nn.utils.prune``; :func:`make_permanent` folds the masks into the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune
from transformers.pytorch_utils import prune_linear_layer

from bizlm.batching import Features, PaddingCollator, length_sorted_batches
from bizlm.errors import BizlmError
from bizlm.inference import evaluation_mode

HeadMap = dict[int, list[int]]  # layer index -> head indices in the original numbering


def attention_blocks(model: nn.Module) -> list[nn.Module]:
    """The attention modules (``.self`` with query/key/value, ``.output.dense``) in order."""
    blocks = [
        module
        for module in model.modules()
        if hasattr(module, "self")
        and hasattr(module, "output")
        and all(hasattr(module.self, n) for n in ("query", "key", "value", "attention_head_size"))
        and isinstance(getattr(module.output, "dense", None), nn.Linear)
    ]
    if not blocks:
        raise BizlmError(
            f"Head pruning needs a BERT-style encoder (attention.self.query/key/value and "
            f"attention.output.dense); '{type(model).__name__}' has another layout.",
            hint="Use --prune magnitude=FRACTION, or distil into a smaller model.",
        )
    return blocks


def remaining_heads(total: int, pruned: Sequence[int]) -> list[int]:
    """Original indices of the heads a layer still has, in their current order."""
    gone = set(pruned)
    return [head for head in range(total) if head not in gone]


def remove_heads(model: nn.Module, heads: HeadMap, pruned: HeadMap | None = None) -> HeadMap:
    """Remove ``heads`` (original numbering) and return every head pruned so far.

    ``pruned`` lists heads removed earlier, so original numbers map to current positions.
    """
    total = int(model.config.num_attention_heads)
    done = {int(k): list(v) for k, v in (pruned or {}).items()}
    blocks = attention_blocks(model)
    for layer, new in sorted(heads.items()):
        if not new:
            continue
        current = remaining_heads(total, done.get(layer, []))
        if set(new) - set(current):
            raise BizlmError(f"Layer {layer} has no head(s) {sorted(set(new) - set(current))}.")
        if len(set(new)) >= len(current):
            raise BizlmError(
                f"Cannot prune {len(set(new))} heads from layer {layer}: it has {len(current)}, "
                "and at least one must stay.",
                hint="Prune fewer heads (for example heads=0.3 of all heads).",
            )
        _shrink(blocks[layer], [current.index(head) for head in new])
        done[layer] = sorted(set(done.get(layer, [])) | set(new))
    return done


def _shrink(block: nn.Module, positions: list[int]) -> None:
    attention = block.self
    size = int(attention.attention_head_size)
    keep = [h for h in range(attention.query.out_features // size) if h not in set(positions)]
    index = torch.cat([torch.arange(h * size, (h + 1) * size) for h in keep])
    attention.query = prune_linear_layer(attention.query, index)
    attention.key = prune_linear_layer(attention.key, index)
    attention.value = prune_linear_layer(attention.value, index)
    block.output.dense = prune_linear_layer(block.output.dense, index, dim=1)
    attention.num_attention_heads = len(keep)
    attention.all_head_size = len(keep) * size


def head_importance(
    model: nn.Module, features: Sequence[Features], pad_id: int, batch_size: int = 32
) -> list[torch.Tensor]:
    """Per layer, the importance of each current head: mean |d loss / d gate| over the data,
    normalised by the layer's L2 norm as in Michel et al. (2019)."""
    blocks = attention_blocks(model)
    gates = [
        torch.ones(b.output.dense.in_features // b.self.attention_head_size, requires_grad=True)
        for b in blocks
    ]
    handles = [
        block.output.dense.register_forward_pre_hook(_gate_hook(gate, block.self))
        for block, gate in zip(blocks, gates, strict=True)
    ]
    collate = PaddingCollator(pad_id)
    scores = [torch.zeros_like(g) for g in gates]
    try:
        with evaluation_mode(model):
            for indices in length_sorted_batches(
                [len(f["input_ids"]) for f in features], batch_size
            ):
                loss = model(**collate([features[i] for i in indices])).loss
                grads = torch.autograd.grad(loss, gates)
                for score, grad in zip(scores, grads, strict=True):
                    score += grad.abs() * len(indices)
    finally:
        for handle in handles:
            handle.remove()
    return [score / (score.norm() + 1e-20) for score in scores]


def _gate_hook(gate: torch.Tensor, attention: nn.Module):
    size = int(attention.attention_head_size)

    def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return (args[0] * gate.repeat_interleave(size), *args[1:])

    return hook


def prune_heads(
    model: nn.Module,
    features: Sequence[Features],
    pad_id: int,
    amount: float,
    pruned: HeadMap | None = None,
) -> HeadMap:
    """Remove the least important heads and return every head pruned so far.

    ``amount`` < 1 is a fraction of all remaining heads, ranked globally (each layer keeps at
    least one); ``amount`` >= 1 is a number of heads to remove from every layer.
    """
    pruned = pruned or {}
    total = int(model.config.num_attention_heads)
    current = [
        remaining_heads(total, pruned.get(layer, [])) for layer in range(len(head_counts(model)))
    ]
    if amount >= 1:
        _check_count(current, int(amount))
    importance = head_importance(model, features, pad_id)
    if amount >= 1:
        chosen = {
            layer: [heads[int(i)] for i in torch.argsort(scores)[: int(amount)]]
            for layer, (heads, scores) in enumerate(zip(current, importance, strict=True))
        }
    else:
        chosen = _global_choice(current, importance, amount)
    return remove_heads(model, chosen, pruned)


def _check_count(current: list[list[int]], count: int) -> None:
    for layer, heads in enumerate(current):
        if count >= len(heads):
            raise BizlmError(
                f"Cannot prune {count} heads per layer: layer {layer} has {len(heads)} "
                "and at least one must stay.",
                hint=f"Use heads={len(heads) - 1} or fewer, or a fraction such as heads=0.3.",
            )


def _global_choice(
    current: list[list[int]], importance: list[torch.Tensor], fraction: float
) -> HeadMap:
    ranked = sorted(
        (float(score), layer, heads[position])
        for layer, (heads, scores) in enumerate(zip(current, importance, strict=True))
        for position, score in enumerate(scores)
    )
    target = round(fraction * sum(len(heads) for heads in current))
    chosen: HeadMap = {}
    left = [len(heads) for heads in current]
    for _score, layer, head in ranked:
        if target == 0:
            break
        if left[layer] > 1:
            chosen.setdefault(layer, []).append(head)
            left[layer] -= 1
            target -= 1
    return chosen


def prunable_linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The encoder's linear layers (the classification head and pooler are left dense)."""
    base = getattr(model, "base_model", model)
    return [
        (name, module)
        for name, module in base.named_modules()
        if isinstance(module, nn.Linear) and "pooler" not in name
    ]


def magnitude_prune(model: nn.Module, amount: float) -> None:
    """Mask the ``amount`` smallest-magnitude weights of every encoder linear layer."""
    for _name, module in prunable_linears(model):
        torch_prune.l1_unstructured(module, "weight", amount=amount)


def make_permanent(model: nn.Module) -> None:
    """Fold pruning masks into the weights so the model saves and exports as a plain one."""
    for module in model.modules():
        if torch_prune.is_pruned(module) and isinstance(module, nn.Linear):
            torch_prune.remove(module, "weight")


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero weights over the encoder's linear layers."""
    zeros = total = 0
    for _name, module in prunable_linears(model):
        zeros += int((module.weight == 0).sum())
        total += module.weight.numel()
    return zeros / total if total else 0.0


def head_counts(model: nn.Module) -> list[int]:
    """Number of attention heads left in each layer."""
    return [
        b.output.dense.in_features // int(b.self.attention_head_size)
        for b in attention_blocks(model)
    ]


def describe_pruning(model: nn.Module, pruned: HeadMap) -> dict[str, Any]:
    """What pruning left, for ``bizlm.json``."""
    counts = head_counts(model) if pruned else None
    return {
        "pruned_heads": {str(k): v for k, v in sorted(pruned.items())},
        "heads_per_layer": counts,
        "linear_sparsity": round(sparsity(model), 4),
    }
