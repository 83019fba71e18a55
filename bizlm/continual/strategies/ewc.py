"""``ewc``: elastic weight consolidation (Kirkpatrick et al., 2017), online form.

The Fisher information of every trained parameter, estimated from per-example gradients of the
log-likelihood, says how much the past stages relied on it; the update pays
``lambda / 2 * sum(F * (theta - theta_parent) ** 2)`` for moving it. The Fisher is stored in the
bundle; each update decays it (``ewc_decay``) and adds its own stage's.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from bizlm.continual.memory import MEMORY_DIR
from bizlm.continual.strategies.base import Strategy, UpdateContext, model_inputs
from bizlm.errors import RecipeError
from bizlm.inference import evaluation_mode, tokenize
from bizlm.recipe import Recipe
from bizlm.tasks import Examples
from bizlm.tasks.base import LossFunction

FISHER_FILE = "fisher.safetensors"
_OWN_WEIGHT_METHODS = ("full", "freeze", "bitfit", "head")


def fisher_information(
    model: torch.nn.Module,
    tokenizer: object,
    examples: Examples,
    labels: list[str],
    max_length: int,
    samples: int,
    predicted: bool = False,
) -> dict[str, torch.Tensor]:
    """Mean squared per-example gradient of the log-likelihood of each example's label.

    The label is the gold one, or with ``predicted`` the model's own choice among ``labels``
    (for inputs whose labels the model never learnt).
    """
    index = {label: i for i, label in enumerate(labels)}
    count = min(samples, len(examples))
    features = tokenize(tokenizer, examples.texts[:count], max_length)
    parameters = {n: p for n, p in model.named_parameters() if p.requires_grad}
    fisher = {n: torch.zeros_like(p) for n, p in parameters.items()}
    with evaluation_mode(model):
        for feature, target in zip(features, examples.targets[:count], strict=True):
            batch = {k: torch.tensor([v]) for k, v in feature.items()}
            model.zero_grad(set_to_none=True)
            logits = model(**batch).logits
            if predicted:
                gold = logits[:, : len(labels)].argmax(dim=-1).detach()
            else:
                gold = torch.tensor([index[str(target)]])
            F.cross_entropy(logits, gold).backward()
            for name, parameter in parameters.items():
                if parameter.grad is not None:
                    fisher[name] += parameter.grad.detach() ** 2
    model.zero_grad(set_to_none=True)
    return {name: values / max(1, count) for name, values in fisher.items()}


def _grown(stored: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A stored Fisher tensor padded with zeros to a grown head's shape."""
    if stored.shape == shape:
        return stored
    grown = torch.zeros(shape, dtype=stored.dtype)
    grown[: stored.shape[0]] = stored
    return grown


class Ewc(Strategy):
    """Penalise moving the parameters the past stages relied on."""

    name = "ewc"
    description = "elastic weight consolidation with a stored Fisher information"

    def check(self, recipe: Recipe) -> None:
        """EWC anchors the model's own weights, so the method must train them directly."""
        method = recipe.method.name
        if method not in _OWN_WEIGHT_METHODS:
            raise RecipeError(
                f"Strategy 'ewc' needs a method that trains the model's own weights "
                f"({', '.join(_OWN_WEIGHT_METHODS)}), not '{method}'.",
                hint="Add --set method.name=full, or use --strategy adapters for LoRA.",
            )

    def _past_fisher(
        self, model: torch.nn.Module, context: UpdateContext
    ) -> dict[str, torch.Tensor]:
        stored = context.parent / MEMORY_DIR / FISHER_FILE
        shapes = {n: p.shape for n, p in model.named_parameters() if p.requires_grad}
        if stored.is_file():
            fisher = load_file(str(stored))
            context.record["fisher_from"] = "parent bundle"
            return {n: _grown(fisher[n].float(), s) for n, s in shapes.items() if n in fisher}
        source = context.parent_train
        context.record["fisher_from"] = (
            "parent training data" if source else "parent's predictions on the new data"
        )
        return fisher_information(
            model,
            context.tokenizer,
            source or context.train,
            context.old_labels if source is None else context.labels,
            context.recipe.train.max_length,
            context.config.fisher_samples,
            predicted=source is None,
        )

    def loss_function(self, model: torch.nn.Module, context: UpdateContext) -> LossFunction | None:
        """The model's loss plus the quadratic penalty around the parent's weights."""
        fisher = self._past_fisher(model, context)
        mean = torch.cat([f.flatten() for f in fisher.values()]).mean().clamp_min(1e-30)
        weights = {n: f / mean for n, f in fisher.items()}
        anchors = {n: p.detach().clone() for n, p in model.named_parameters() if n in weights}
        strength = context.config.ewc_lambda / 2
        self._past = fisher

        def loss(module: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            outputs = module(**model_inputs(batch))
            penalty = sum(
                (weights[n] * (p - anchors[n]) ** 2).sum()
                for n, p in module.named_parameters()
                if n in weights
            )
            return F.cross_entropy(outputs.logits, batch["labels"]) + strength * penalty

        return loss

    def save_state(self, model: torch.nn.Module, staging: Path, context: UpdateContext) -> None:
        """Store decay × past Fisher + this stage's Fisher (bf16 keeps the float32 range)."""
        current = fisher_information(
            model,
            context.tokenizer,
            context.train,
            context.labels,
            context.recipe.train.max_length,
            context.config.fisher_samples,
        )
        decay = context.config.ewc_decay
        total = {
            n: (decay * self._past[n] + f if n in self._past else f).to(torch.bfloat16)
            for n, f in current.items()
        }
        (staging / MEMORY_DIR).mkdir(parents=True, exist_ok=True)
        save_file(total, str(staging / MEMORY_DIR / FISHER_FILE))
