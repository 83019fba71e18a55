"""Virtual-token methods (peft): prefix tuning, soft prompts and P-tuning. None can merge."""

from __future__ import annotations

from typing import Literal

from peft import PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig
from pydantic import Field
from transformers import PreTrainedModel

from bizlm.method_config import TrainDefaults
from bizlm.methods.base import TrainingPlan
from bizlm.methods.peft_method import PeftMethod, PeftMethodConfig


class VirtualTokenConfig(PeftMethodConfig):
    """Options shared by the virtual-token methods."""

    num_virtual_tokens: int = Field(20, ge=1, le=512, description="Length of the learned prompt.")


class VirtualTokenMethod(PeftMethod):
    """Learned vectors fed to the model with every input; the backbone stays as it was."""

    mergeable = False
    uses_target_modules = False
    supported_tasks = ("classify", "score")

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """Options common to the virtual-token methods."""
        config: VirtualTokenConfig = self.config  # type: ignore[assignment]
        return {"num_virtual_tokens": config.num_virtual_tokens}


class PrefixConfig(VirtualTokenConfig):
    """Prefix-tuning options."""

    name: Literal["prefix"] = "prefix"


class Prefix(VirtualTokenMethod):
    """Trained key/value prefixes in every attention layer (Li & Liang, 2021)."""

    name = "prefix"
    train_defaults = TrainDefaults(
        learning_rate=1e-2, basis="P-tuning v2 (Liu et al., 2022): 5e-3 to 1e-2 for prompts"
    )
    config_class = PrefixConfig
    peft_config_class = PrefixTuningConfig


class PromptConfig(VirtualTokenConfig):
    """Soft-prompt options."""

    name: Literal["prompt"] = "prompt"


class Prompt(VirtualTokenMethod):
    """Trained input embeddings prepended to the text (Lester et al., 2021)."""

    name = "prompt"
    train_defaults = TrainDefaults(
        learning_rate=1e-2, basis="P-tuning v2 (Liu et al., 2022): 5e-3 to 1e-2 for prompts"
    )
    config_class = PromptConfig
    peft_config_class = PromptTuningConfig


class PtuningConfig(VirtualTokenConfig):
    """P-tuning options."""

    name: Literal["ptuning"] = "ptuning"
    encoder_hidden_size: int = Field(128, ge=1, description="Width of the prompt encoder.")


class Ptuning(VirtualTokenMethod):
    """Virtual tokens produced by a small trained prompt encoder (Liu et al., 2021)."""

    name = "ptuning"
    train_defaults = TrainDefaults(
        learning_rate=1e-2, basis="P-tuning v2 (Liu et al., 2022): 5e-3 to 1e-2 for prompts"
    )
    config_class = PtuningConfig
    peft_config_class = PromptEncoderConfig

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """P-tuning's options."""
        config: PtuningConfig = self.config  # type: ignore[assignment]
        return {
            **super().peft_config(model, plan),
            "encoder_hidden_size": config.encoder_hidden_size,
        }
