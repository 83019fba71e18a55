"""Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021) after attention and
feed-forward blocks. Small residual MLPs are inserted on a frozen backbone; they cannot be
merged into the weights, so ``adapter/`` is applied on top of ``model/`` when loading."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel

from bizlm.errors import RecipeError
from bizlm.method_config import TrainDefaults
from bizlm.methods.base import AdaptationMethod, MethodConfig, TrainingPlan
from bizlm.methods.selection import freeze_except, is_head_parameter

ATTENTION_OUTPUTS = r"\.attention\.output\.dense$|\.attn\.c_proj$|\.attention\.out_lin$"
FEEDFORWARD_OUTPUTS = r"\.layer\.\d+\.output\.dense$|\.mlp\.c_proj$|\.ffn\.lin2$"
WEIGHTS_FILE = "bottleneck.safetensors"


class BottleneckConfig(MethodConfig):
    """Bottleneck adapter options."""

    name: Literal["adapter"] = "adapter"
    placement: Literal["houlsby", "pfeiffer"] = Field(
        "houlsby",
        description="houlsby: after attention and feed-forward; pfeiffer: after feed-forward only.",
    )
    reduction: int = Field(16, ge=1, description="Hidden size divided by the bottleneck size.")
    train_layer_norms: bool = Field(True, description="Also train the LayerNorm weights.")
    attention_pattern: str = Field(ATTENTION_OUTPUTS, description="Regex of attention outputs.")
    feedforward_pattern: str = Field(FEEDFORWARD_OUTPUTS, description="Regex of FFN outputs.")


class Bottleneck(torch.nn.Module):
    """x + up(gelu(down(x))), with ``up`` starting at zero so training starts from the backbone."""

    def __init__(self, width: int, reduction: int) -> None:
        super().__init__()
        self.down = torch.nn.Linear(width, max(1, width // reduction))
        self.up = torch.nn.Linear(max(1, width // reduction), width)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Add the adapter's correction to the block output."""
        return hidden + self.up(torch.nn.functional.gelu(self.down(hidden)))


class AdaptedOutput(torch.nn.Module):
    """A block's output projection followed by a bottleneck adapter."""

    def __init__(self, projection: torch.nn.Module, reduction: int) -> None:
        super().__init__()
        self.projection = projection
        width = getattr(projection, "out_features", None) or projection.nf
        self.adapter = Bottleneck(width, reduction)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Project, then adapt."""
        return self.adapter(self.projection(hidden))


def _insert(model: torch.nn.Module, config: BottleneckConfig) -> int:
    patterns = [config.feedforward_pattern]
    if config.placement == "houlsby":
        patterns.append(config.attention_pattern)
    matcher = re.compile("|".join(f"(?:{p})" for p in patterns))
    targets = [name for name, _ in model.named_modules() if matcher.search(name)]
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, AdaptedOutput(getattr(parent, child), config.reduction))
    return len(targets)


class BottleneckAdapters(AdaptationMethod):
    """Residual bottleneck MLPs after the attention and/or feed-forward output projections."""

    name = "adapter"
    train_defaults = TrainDefaults(
        learning_rate=1e-3, basis="bottleneck adapters (Houlsby et al., 2019): 1e-4 to 1e-3"
    )
    config_class = BottleneckConfig
    supported_tasks = ("classify", "tag", "score")
    mergeable = False

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """Insert adapters, freeze everything but adapters, head (and LayerNorms)."""
        config: BottleneckConfig = self.config  # type: ignore[assignment]
        if _insert(model, config) == 0:
            names = sorted({n for n, _ in model.named_modules() if n.endswith(("dense", "proj"))})
            raise RecipeError(
                "method 'adapter': no attention or feed-forward output matches "
                "method.attention_pattern / method.feedforward_pattern.",
                hint=f"Projection modules of this backbone: {', '.join(names[:12])}.",
            )
        freeze_except(model, lambda name: self._trained(model, name))
        return model

    def _trained(self, model: PreTrainedModel, name: str) -> bool:
        config: BottleneckConfig = self.config  # type: ignore[assignment]
        norm = config.train_layer_norms and (
            "LayerNorm" in name or "layer_norm" in name or ".ln_" in name
        )
        return ".adapter." in name or norm or is_head_parameter(model, name)

    def export_model(self, model: torch.nn.Module) -> PreTrainedModel:
        """The backbone (adapters removed) with the trained head and LayerNorms."""
        assert isinstance(model, PreTrainedModel)
        for name, module in list(model.named_modules()):
            if isinstance(module, AdaptedOutput):
                parent_name, _, child = name.rpartition(".")
                setattr(model.get_submodule(parent_name), child, module.projection)
        return model

    def save_adapter(self, model: torch.nn.Module, directory: Path) -> bool:
        """Save adapter, head and LayerNorm weights plus the options that rebuild the layout."""
        directory.mkdir(parents=True, exist_ok=True)
        state = {n: p.detach().contiguous() for n, p in model.named_parameters() if p.requires_grad}
        save_file(state, str(directory / WEIGHTS_FILE))
        (directory / "bottleneck.json").write_text(json.dumps(self.config.model_dump(), indent=2))
        return True

    def load_adapter(self, model: PreTrainedModel, directory: Path) -> torch.nn.Module:
        """Re-insert the adapters into the exported model and load their weights."""
        config: BottleneckConfig = self.config  # type: ignore[assignment]
        _insert(model, config)
        missing = model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)), strict=False)
        if missing.unexpected_keys:
            raise RecipeError(f"{directory} does not fit this backbone.")
        return model.eval()
