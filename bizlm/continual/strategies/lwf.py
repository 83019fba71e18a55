"""``lwf``: learning without forgetting (Li and Hoiem, 2016).

Before the update, the model's outputs for the old labels are recorded on every new training
text; the update then minimises cross-entropy on the new labels plus ``lwf_alpha`` times the KL
divergence between those recorded old-label distributions and its own, both softened by
``lwf_temperature`` (scaled by T², as in distillation). No past data is needed.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from bizlm.batching import Features
from bizlm.continual.strategies.base import Strategy, UpdateContext, model_inputs
from bizlm.inference import batched_logits
from bizlm.tasks.base import LossFunction


class LearningWithoutForgetting(Strategy):
    """Distil the previous model's old-label outputs on the new data."""

    name = "lwf"
    description = "distil the previous model's outputs on the new data"

    def prepare_features(
        self, model: torch.nn.Module, features: list[Features], context: UpdateContext
    ) -> None:
        """Append the old-label logits to each example's label: ``[old logits..., label]``."""
        pad_id = int(context.tokenizer.pad_token_id or 0)
        batch = context.recipe.train.eval_batch_size
        logits = batched_logits(model, features, pad_id, batch)[:, : len(context.old_labels)]
        for feature, row in zip(features, logits, strict=True):
            feature["labels"] = [*row.tolist(), float(feature["labels"])]

    def loss_function(self, model: torch.nn.Module, context: UpdateContext) -> LossFunction | None:
        """Cross-entropy on the label plus the softened KL to the recorded old outputs."""
        old = len(context.old_labels)
        temperature = context.config.lwf_temperature
        alpha = context.config.lwf_alpha

        def loss(module: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            logits = module(**model_inputs(batch)).logits
            recorded, gold = batch["labels"][:, :-1].float(), batch["labels"][:, -1].long()
            own = F.log_softmax(logits[:, :old] / temperature, dim=-1)
            target = F.softmax(recorded / temperature, dim=-1)
            distil = F.kl_div(own, target, reduction="batchmean") * temperature**2
            return F.cross_entropy(logits, gold) + alpha * distil

        return loss
