"""Adapters that rescale or re-parametrise existing weights: IA3, VeRA, LoHa, LoKr (peft)."""

from __future__ import annotations

from typing import Literal

from peft import IA3Config, LoHaConfig, LoKrConfig, VeraConfig
from pydantic import Field
from transformers import PreTrainedModel

from bizlm.method_config import TrainDefaults
from bizlm.methods.base import TrainingPlan
from bizlm.methods.peft_method import PeftMethod, PeftMethodConfig


class Ia3Config(PeftMethodConfig):
    """IA3 options."""

    name: Literal["ia3"] = "ia3"
    feedforward_modules: list[str] | None = Field(
        None, description="Target modules that are feed-forward layers; default: peft's choice."
    )


class Ia3(PeftMethod):
    """Learned scaling vectors on keys, values and feed-forward activations (Liu et al., 2022)."""

    name = "ia3"
    train_defaults = TrainDefaults(
        learning_rate=3e-3, basis="IA3 paper (Liu et al., 2022) trains its scaling vectors at 3e-3"
    )
    config_class = Ia3Config
    peft_config_class = IA3Config

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """IA3's options."""
        config: Ia3Config = self.config  # type: ignore[assignment]
        return (
            {"feedforward_modules": config.feedforward_modules}
            if config.feedforward_modules
            else {}
        )


class VeraMethodConfig(PeftMethodConfig):
    """VeRA options."""

    name: Literal["vera"] = "vera"
    r: int = Field(256, ge=1, description="Rank of the shared random projections.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the adapter input.")


class Vera(PeftMethod):
    """Shared frozen random projections with trained scaling vectors (Kopiczko et al., 2024)."""

    name = "vera"
    train_defaults = TrainDefaults(
        learning_rate=4e-3, basis="VeRA paper (Kopiczko et al., 2024) uses 4e-3 and up for GLUE"
    )
    config_class = VeraMethodConfig
    peft_config_class = VeraConfig

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """VeRA's options."""
        config: VeraMethodConfig = self.config  # type: ignore[assignment]
        return {"r": config.r, "vera_dropout": config.dropout}


class LohaMethodConfig(PeftMethodConfig):
    """LoHa options."""

    name: Literal["loha"] = "loha"
    r: int = Field(8, ge=1, description="Rank of each Hadamard factor.")
    alpha: float = Field(16, gt=0, description="Scaling numerator.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Rank dropout.")


class Loha(PeftMethod):
    """Low-rank Hadamard product updates (Hyeon-Woo et al., 2022)."""

    name = "loha"
    train_defaults = TrainDefaults(
        learning_rate=2e-3, basis="as lora (low-rank update of the same layers)"
    )
    config_class = LohaMethodConfig
    peft_config_class = LoHaConfig

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """LoHa's options."""
        config: LohaMethodConfig = self.config  # type: ignore[assignment]
        return {"r": config.r, "alpha": config.alpha, "rank_dropout": config.dropout}


class LokrMethodConfig(PeftMethodConfig):
    """LoKr options."""

    name: Literal["lokr"] = "lokr"
    r: int = Field(8, ge=1, description="Rank of the Kronecker factor.")
    alpha: float = Field(16, gt=0, description="Scaling numerator.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Rank dropout.")


class Lokr(PeftMethod):
    """Low-rank Kronecker product updates (Yeh et al., 2024)."""

    name = "lokr"
    train_defaults = TrainDefaults(
        learning_rate=2e-3, basis="as lora (low-rank update of the same layers)"
    )
    config_class = LokrMethodConfig
    peft_config_class = LoKrConfig

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """LoKr's options."""
        config: LokrMethodConfig = self.config  # type: ignore[assignment]
        return {"r": config.r, "alpha": config.alpha, "rank_dropout": config.dropout}
