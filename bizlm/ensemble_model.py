"""An ensemble of same-task models that looks like one model to the predictors.

Its logits are chosen so that the task's usual activation gives the members' average: the log of
the mean softmax (single-label), the logit of the mean sigmoid (multi-label), or the mean output
(score). Prediction, evaluation and serving therefore work on an ensemble bundle unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

Averaging = Literal["softmax", "sigmoid", "mean"]


class EnsembleModel(nn.Module):
    """Members run on the same inputs; their outputs are averaged (see the module docstring)."""

    def __init__(self, members: Sequence[nn.Module], averaging: Averaging) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.averaging = averaging
        self.config = getattr(members[0], "config", None)

    def forward(self, **inputs: torch.Tensor) -> SequenceClassifierOutput:
        """Averaged logits of every member (``labels`` are not used)."""
        inputs.pop("labels", None)
        logits = torch.stack([member(**inputs).logits.float() for member in self.members])
        if self.averaging == "softmax":
            combined = torch.log(torch.softmax(logits, dim=-1).mean(dim=0).clamp_min(1e-30))
        elif self.averaging == "sigmoid":
            combined = torch.logit(torch.sigmoid(logits).mean(dim=0), eps=1e-7)
        else:
            combined = logits.mean(dim=0)
        return SequenceClassifierOutput(logits=combined)


def averaging_for(task: dict) -> Averaging:
    """How a task's members are averaged, from the recipe's task section."""
    if task.get("type", "classify") == "score":
        return "mean"
    return "sigmoid" if task.get("multi_label") else "softmax"
