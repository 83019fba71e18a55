"""LoRA and its rank-adaptive variant AdaLoRA, through ``peft``."""

from __future__ import annotations

from typing import Literal

import torch
from peft import AdaLoraConfig, LoraConfig, PeftModel
from pydantic import Field
from transformers import PreTrainedModel

from bizlm.method_config import TrainDefaults
from bizlm.methods.base import TrainingPlan
from bizlm.methods.peft_method import PeftMethod, PeftMethodConfig


class LoraMethodConfig(PeftMethodConfig):
    """LoRA options (see the peft documentation for their meaning)."""

    name: Literal["lora"] = "lora"
    r: int = Field(8, ge=1, le=1024, description="Rank of the update matrices.")
    alpha: float = Field(16, gt=0, description="Scaling numerator; the update is scaled alpha/r.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the LoRA input.")
    use_rslora: bool = Field(False, description="Rank-stabilised scaling alpha/sqrt(r).")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")


class Lora(PeftMethod):
    """Low-rank updates on chosen linear layers (Hu et al., 2021); merged for export."""

    name = "lora"
    train_defaults = TrainDefaults(
        learning_rate=2e-3, basis="measured: bench/results/defaults-sweep.json"
    )
    config_class = LoraMethodConfig
    peft_config_class = LoraConfig

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """LoRA's own options."""
        config: LoraMethodConfig = self.config  # type: ignore[assignment]
        return {
            "r": config.r,
            "lora_alpha": config.alpha,
            "lora_dropout": config.dropout,
            "use_rslora": config.use_rslora,
            "use_dora": config.use_dora,
        }


class AdaLoraMethodConfig(PeftMethodConfig):
    """AdaLoRA options: ranks start at ``init_r`` and are pruned towards ``target_r``."""

    name: Literal["adalora"] = "adalora"
    init_r: int = Field(12, ge=1, description="Initial rank of every adapted layer.")
    target_r: int = Field(4, ge=1, description="Average rank after budget reallocation.")
    alpha: float = Field(16, gt=0, description="Scaling numerator.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the adapter input.")
    warmup_fraction: float = Field(0.1, ge=0, lt=1, description="Steps before pruning starts.")
    final_fraction: float = Field(0.2, ge=0, lt=1, description="Steps after pruning ends.")


class AdaLora(PeftMethod):
    """LoRA whose ranks are reallocated during training by importance (Zhang et al., 2023)."""

    name = "adalora"
    train_defaults = TrainDefaults(learning_rate=2e-3, basis="as lora (same update form)")
    config_class = AdaLoraMethodConfig
    peft_config_class = AdaLoraConfig

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """AdaLoRA's options, with its schedule fitted to the run's total steps."""
        config: AdaLoraMethodConfig = self.config  # type: ignore[assignment]
        total = max(plan.total_steps, 3)
        tinit = int(config.warmup_fraction * total)
        tfinal = min(int(config.final_fraction * total), total - tinit - 1)
        return {
            "init_r": config.init_r,
            "target_r": config.target_r,
            "lora_alpha": config.alpha,
            "lora_dropout": config.dropout,
            "total_step": total,
            "tinit": tinit,
            "tfinal": max(tfinal, 0),
            "deltaT": max(1, (total - tinit - tfinal) // 10),
        }

    def on_optimizer_step(self, model: torch.nn.Module, step: int) -> None:
        """Reallocate ranks from the gradients of this step."""
        assert isinstance(model, PeftModel)
        model.base_model.update_and_allocate(step)
