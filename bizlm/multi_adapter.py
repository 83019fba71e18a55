"""Several task adapters on one shared backbone in one process: pick the task per call.

Each adapter bundle (a mergeable peft method such as LoRA, trained on the same backbone)
contributes its adapter weights and its own task head; the backbone is loaded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import PeftConfig, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from bizlm.backbones import resolve_model
from bizlm.bundle import read_bundle_info
from bizlm.bundle_runtimes import with_blend
from bizlm.errors import BundleError
from bizlm.predictor import Predictor

PREFIX = "base_model.model."


def _split_weights(path: Path, model: torch.nn.Module) -> tuple[dict, dict]:
    """Adapter weights (for peft) and head weights (module path -> tensors) of one bundle."""
    weights = load_file(str(path / "adapter_model.safetensors"))
    head_paths = {
        name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
    }
    adapter, head = {}, {}
    for key, tensor in weights.items():
        module_path, _, parameter = key.removeprefix(PREFIX).rpartition(".")
        if module_path in head_paths:
            head.setdefault(module_path, {})[parameter] = tensor
        else:
            adapter[key] = tensor
    return adapter, head


def _linear(tensors: dict[str, torch.Tensor]) -> torch.nn.Linear:
    weight = tensors["weight"]
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in tensors)
    layer.load_state_dict(tensors)
    return layer.eval()


class MultiAdapterPredictor:
    """Predict with any of several adapters that share one backbone in memory."""

    def __init__(self, base: str, adapters: Sequence[str | Path]) -> None:
        location = resolve_model(base)
        shell = AutoModelForSequenceClassification.from_pretrained(location, num_labels=2)
        self.tokenizer = AutoTokenizer.from_pretrained(location)
        self.tasks: dict[str, dict[str, Any]] = {}
        self.model: Any = None
        for bundle in map(Path, adapters):
            info = read_bundle_info(bundle)
            if not (bundle / "adapter" / "adapter_config.json").is_file() or not info.merged:
                raise BundleError(
                    f"{bundle} has no mergeable peft adapter (method '{info.method_name}').",
                    hint="Train the task with lora, adalora, ia3, vera, loha or lokr.",
                )
            config = PeftConfig.from_pretrained(bundle / "adapter")
            config.modules_to_save, config.task_type = None, None  # heads are kept per task
            config.inference_mode = True
            adapter_weights, head = _split_weights(bundle / "adapter", shell)
            if self.model is None:
                self.model = get_peft_model(shell, config, adapter_name=bundle.name)
            else:
                self.model.add_adapter(bundle.name, config)
            set_peft_model_state_dict(self.model, adapter_weights, adapter_name=bundle.name)
            self.tasks[bundle.name] = {
                "bundle": bundle,
                "info": info,
                "labels": info.labels,
                "heads": {path: _linear(tensors) for path, tensors in head.items()},
                "max_length": info.max_length,
            }
        if self.model is None:
            raise BundleError("No adapters given.", hint="Pass one or more adapter bundles.")
        self.model.eval()

    @property
    def names(self) -> list[str]:
        """Names (bundle folder names) of the loaded task adapters."""
        return list(self.tasks)

    def _activate(self, name: str) -> dict[str, Any]:
        if name not in self.tasks:
            raise BundleError(
                f"No adapter named '{name}'.", hint=f"Loaded: {', '.join(self.tasks)}."
            )
        self.model.set_adapter(name)
        shell = self.model.get_base_model()
        task = self.tasks[name]
        for path, layer in task["heads"].items():
            parent, _, child = path.rpartition(".")
            setattr(shell.get_submodule(parent) if parent else shell, child, layer)
        return task

    def predictor(self, name: str) -> Predictor:
        """A :class:`Predictor` view of one task, sharing the backbone; it predicts as its own
        bundle does (decision threshold, long inputs, blend)."""
        task = self._activate(name)
        predictor = Predictor(
            self.model, self.tokenizer, task["labels"], task["max_length"], task["info"]
        )
        return with_blend(predictor, task["bundle"], task["info"])

    def predict_proba(self, texts: Sequence[str], adapter: str, batch_size: int = 64) -> np.ndarray:
        """Probabilities from the named task adapter."""
        return self.predictor(adapter).predict_proba(texts, batch_size)

    def predict(self, texts: str | Sequence[str], adapter: str, batch_size: int = 64) -> list[dict]:
        """Labels and probabilities from the named task adapter."""
        return self.predictor(adapter).predict(texts, batch_size)
