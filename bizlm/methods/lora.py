"""LoRA through ``peft``: low-rank updates on chosen linear layers, head trained in full."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from pydantic import Field
from transformers import PreTrainedModel

from bizlm.errors import RecipeError
from bizlm.methods.base import AdaptationMethod, MethodConfig, register_method


class LoraMethodConfig(MethodConfig):
    """LoRA options (see the peft documentation for their meaning)."""

    name: Literal["lora"] = "lora"
    r: int = Field(8, ge=1, le=1024, description="Rank of the update matrices.")
    alpha: float = Field(16, gt=0, description="Scaling numerator; the update is scaled alpha/r.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on the LoRA input.")
    target_modules: list[str] = Field(
        default_factory=lambda: ["query", "value"],
        description="Names (suffixes) of the linear layers that get LoRA updates.",
    )
    modules_to_save: list[str] = Field(
        default_factory=lambda: ["classifier", "pooler"],
        description="Modules trained in full and saved with the adapter (the task head).",
    )
    use_rslora: bool = Field(False, description="Rank-stabilised scaling alpha/sqrt(r).")
    use_dora: bool = Field(False, description="Weight-decomposed LoRA (DoRA).")


@register_method
class Lora(AdaptationMethod):
    """Wrap the task model with peft LoRA; merge it back for the exported ``model/``."""

    name = "lora"
    config_class = LoraMethodConfig

    def prepare(self, model: PreTrainedModel) -> torch.nn.Module:
        """Freeze the backbone and add LoRA updates to the target modules."""
        config: LoraMethodConfig = self.config  # type: ignore[assignment]
        names = [name for name, _ in model.named_modules()]
        _check_targets(config.target_modules, names, "target_modules")
        _check_targets(config.modules_to_save, names, "modules_to_save")
        peft_config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=config.r,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=config.target_modules,
            modules_to_save=config.modules_to_save,
            use_rslora=config.use_rslora,
            use_dora=config.use_dora,
        )
        return get_peft_model(model, peft_config)

    def export_model(self, model: torch.nn.Module) -> PreTrainedModel:
        """Merge the LoRA updates into the base weights and drop the wrapper."""
        assert isinstance(model, PeftModel)
        return model.merge_and_unload()

    def save_adapter(self, model: torch.nn.Module, directory: Path) -> bool:
        """Save the adapter weights plus the trained head (modules_to_save)."""
        assert isinstance(model, PeftModel)
        model.save_pretrained(directory)
        return True


def _check_targets(targets: list[str], module_names: list[str], key: str) -> None:
    for target in targets:
        if not any(n == target or n.endswith(f".{target}") for n in module_names):
            leaves = sorted({n.rsplit(".", 1)[-1] for n in module_names if n} - {""})
            raise RecipeError(
                f"method.{key}: '{target}' matches no module of the backbone.",
                hint=f"Module names that exist: {', '.join(leaves)}.",
            )
