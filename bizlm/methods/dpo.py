"""Direct preference optimisation (Rafailov et al., 2023) of a causal LM on preference pairs.

The policy learns to raise the log-probability of each chosen answer over the rejected one,
relative to a frozen reference (the model it started from). With LoRA (the default) the
reference is the same network with the adapter switched off, so no second copy is held; full
fine-tuning keeps a frozen copy. Log-probabilities are summed over the answer tokens only.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from peft import PeftModel
from pydantic import Field
from torch.nn import functional
from transformers import PreTrainedModel

from bizlm.errors import RecipeError
from bizlm.losses import IGNORED
from bizlm.method_config import TrainDefaults
from bizlm.methods.base import TrainingPlan
from bizlm.methods.lora import Lora, LoraMethodConfig

#: the keys of a preference batch that hold the rejected answer (the chosen one is the usual
#: ``input_ids``, ``attention_mask`` and ``labels``)
REJECTED_IDS, REJECTED_MASK, REJECTED_ANSWER = (
    "rejected_input_ids",
    "rejected_attention_mask",
    "rejected_answer_mask",
)


class DpoMethodConfig(LoraMethodConfig):
    """DPO options; the LoRA options apply when ``adapter`` is lora."""

    name: Literal["dpo"] = "dpo"  # type: ignore[assignment]
    beta: float = Field(
        0.1, gt=0, description="Strength of the pull towards the reference model (DPO's beta)."
    )
    adapter: Literal["lora", "full"] = Field(
        "lora",
        description="lora: train a LoRA adapter, the reference is the model without it; full: "
        "train every weight next to a frozen reference copy.",
    )


@dataclass
class PreferenceOutput:
    """The DPO loss of a batch and each pair's implicit rewards (beta x log-ratio)."""

    loss: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


class PreferenceModel(torch.nn.Module):
    """A policy with its reference; ``forward`` on a preference batch gives the DPO loss."""

    def __init__(
        self, policy: torch.nn.Module, reference: torch.nn.Module | None, beta: float
    ) -> None:
        super().__init__()
        self.policy = policy
        self.beta = beta
        self._reference = [reference] if reference is not None else []  # not a submodule
        for module in self._reference:
            module.eval().requires_grad_(False)

    @contextlib.contextmanager
    def reference(self) -> Iterator[torch.nn.Module]:
        """The reference model: the frozen copy, or the policy with its adapter disabled."""
        if self._reference:
            yield self._reference[0].to(next(self.policy.parameters()).device)
            return
        if not isinstance(self.policy, PeftModel):
            raise RecipeError("DPO without a reference copy needs a LoRA policy.")
        with self.policy.disable_adapter():
            yield self.policy

    def forward(self, **batch: torch.Tensor) -> PreferenceOutput:
        """DPO loss and rewards of a batch holding each pair's chosen and rejected answer."""
        inputs, labels, mask = pair_inputs(batch)
        policy = answer_log_probs(self.policy, inputs, mask, labels)
        with torch.no_grad(), self.reference() as reference:
            base = answer_log_probs(reference, inputs, mask, labels)
        return dpo_loss(policy, base, self.beta)


def pair_inputs(batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Input ids, attention mask and labels of the chosen answers followed by the rejected
    ones (one forward pass for both)."""
    rejected_labels = batch[REJECTED_IDS].masked_fill(batch[REJECTED_ANSWER] == 0, IGNORED)
    return (
        torch.cat([batch["input_ids"], batch[REJECTED_IDS]]),
        torch.cat([batch["attention_mask"], batch[REJECTED_MASK]]),
        torch.cat([batch["labels"], rejected_labels]),
    )


def answer_log_probs(
    model: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Per sequence: the log-probability of its labelled tokens (``IGNORED`` ones skipped)."""
    logits = model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float()
    targets = labels[:, 1:]
    counted = targets != IGNORED
    picked = torch.gather(
        functional.log_softmax(logits, dim=-1), 2, targets.clamp(min=0).unsqueeze(-1)
    ).squeeze(-1)
    return (picked * counted).sum(dim=-1)


def dpo_loss(policy: torch.Tensor, reference: torch.Tensor, beta: float) -> PreferenceOutput:
    """-log sigmoid(beta x (chosen log-ratio - rejected log-ratio)), averaged over pairs;
    ``policy`` and ``reference`` hold the chosen answers' log-probabilities, then the
    rejected ones'."""
    ratios = (policy - reference).chunk(2)
    chosen, rejected = beta * ratios[0], beta * ratios[1]
    loss = -functional.logsigmoid(chosen - rejected).mean()
    return PreferenceOutput(loss, chosen.detach(), rejected.detach())


class Dpo(Lora):
    """Preference tuning of a generate model on chosen/rejected answer pairs."""

    name = "dpo"
    config_class = DpoMethodConfig
    supported_tasks = ("generate",)
    train_defaults = TrainDefaults(
        learning_rate=5e-4, basis="LoRA DPO runs use 1e-4 to 1e-3 (below SFT's LoRA rate)"
    )

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        """DPO learns from preference pairs: a generate task must read them (other task
        types are refused by ``supported_tasks``)."""
        if recipe.task.type == "generate" and not recipe.task.preference:
            raise RecipeError(
                "Method 'dpo' learns from preference pairs, but task.preference is false.",
                hint="Set task: {type: generate, preference: true} and give rows of "
                '{"prompt", "chosen", "rejected"}.',
            )

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """The policy (LoRA on the model, or the whole model) wrapped with its reference."""
        config: DpoMethodConfig = self.config  # type: ignore[assignment]
        if config.adapter == "full":
            reference = copy.deepcopy(model)
            return PreferenceModel(model, reference, config.beta)
        return PreferenceModel(super().prepare(model, plan), None, config.beta)

    def save_adapter(self, model: torch.nn.Module, directory: Path) -> bool:
        """None: the LoRA update is merged into the exported model."""
        return False

    def export_model(self, model: torch.nn.Module) -> PreTrainedModel:
        """The policy as a plain model (LoRA merged in)."""
        assert isinstance(model, PreferenceModel)
        policy = model.policy
        return super().export_model(policy) if isinstance(policy, PeftModel) else policy
