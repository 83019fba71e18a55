"""Shared plumbing for methods implemented by ``peft``: wrap, train, save, merge, reload."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import PeftConfig, PeftModel, TaskType, get_peft_model
from peft.utils import ModulesToSaveWrapper
from pydantic import Field
from transformers import PreTrainedModel

from bizlm.methods.base import AdaptationMethod, MethodConfig, TrainingPlan
from bizlm.methods.selection import check_targets, head_module_names

TASK_TYPES = {
    "classify": TaskType.SEQ_CLS,
    "score": TaskType.SEQ_CLS,
    "tag": TaskType.TOKEN_CLS,
    "generate": TaskType.CAUSAL_LM,
}


class PeftMethodConfig(MethodConfig):
    """Options every peft method takes."""

    target_modules: list[str] | None = Field(
        None, description="Layers to adapt (name suffixes); default: peft's choice for the model."
    )
    modules_to_save: list[str] | None = Field(
        None,
        description="Modules trained in full and saved with the adapter; default: the head "
        "(none for generate: a causal LM's output layer is its pretrained word matrix).",
    )


class PeftMethod(AdaptationMethod):
    """A method whose adapter is a ``peft`` config; the task head (if the task adds one) is
    trained and saved with it. Without ``target_modules`` peft picks the layers by model type
    (Llama, Qwen: q_proj and v_proj; GPT-2: c_attn)."""

    supported_tasks = ("classify", "tag", "score", "generate")

    def peft_config(self, model: PreTrainedModel, plan: TrainingPlan) -> dict:
        """Keyword arguments for this method's peft config class (without task and head)."""
        raise NotImplementedError

    peft_config_class: type[PeftConfig]
    uses_target_modules = True

    def prepare(self, model: PreTrainedModel, plan: TrainingPlan) -> torch.nn.Module:
        """Freeze the backbone and attach the adapter; a new task head stays trainable."""
        config: PeftMethodConfig = self.config  # type: ignore[assignment]
        if self.uses_target_modules:
            check_targets(config.target_modules, model, "target_modules")
        check_targets(config.modules_to_save, model, "modules_to_save")
        options = self.peft_config(model, plan)
        if self.uses_target_modules and config.target_modules:
            options["target_modules"] = config.target_modules
        peft_config = self.peft_config_class(
            task_type=TASK_TYPES[plan.task],
            modules_to_save=config.modules_to_save
            or (None if plan.task == "generate" else head_module_names(model)),
            **options,
        )
        return get_peft_model(model, peft_config)

    def export_model(self, model: torch.nn.Module) -> PreTrainedModel:
        """Merge the adapter into the weights, or (when it cannot merge) return the backbone
        with the trained head so that ``adapter/`` applies on top of it."""
        assert isinstance(model, PeftModel)
        if self.mergeable:
            return model.merge_and_unload()
        base = model.get_base_model()
        for name, module in list(base.named_modules()):
            if isinstance(module, ModulesToSaveWrapper):
                parent_name, _, child = name.rpartition(".")
                parent = base.get_submodule(parent_name) if parent_name else base
                setattr(parent, child, module.modules_to_save["default"])
        return base

    def save_adapter(self, model: torch.nn.Module, directory: Path) -> bool:
        """Save the adapter weights together with the trained head."""
        assert isinstance(model, PeftModel)
        model.save_pretrained(directory)
        return True

    def load_adapter(self, model: PreTrainedModel, directory: Path) -> torch.nn.Module:
        """Put the saved adapter back on the exported model."""
        return PeftModel.from_pretrained(model, directory).eval()
