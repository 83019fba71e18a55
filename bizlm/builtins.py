"""The plugins bizlm ships with, registered in one place.

Each registry names one function here (see :class:`bizlm.plugin_registry.Registry`) and runs it
the first time it is used, so a registry and its package never import the plugins themselves:
``bizlm.methods`` does not import ``bizlm.prompting``, and ``bizlm.predictor`` does not import
the exported runtimes. This module, at the top layer, imports every built-in plugin; the first
use of any registry therefore imports them all.
"""

from __future__ import annotations

from bizlm.bundle_runtimes import PROMPT_KIND, register_runtime
from bizlm.compress.runtimes import open_onnx_bundle, open_torch_bundle
from bizlm.continual.strategies.adapters import Adapters
from bizlm.continual.strategies.base import register_strategy
from bizlm.continual.strategies.ewc import Ewc
from bizlm.continual.strategies.lwf import LearningWithoutForgetting
from bizlm.continual.strategies.naive import Naive
from bizlm.continual.strategies.replay import Replay
from bizlm.methods.base import register_method
from bizlm.methods.bottleneck import BottleneckAdapters
from bizlm.methods.dpo import Dpo
from bizlm.methods.full import FullFineTuning
from bizlm.methods.lora import AdaLora, Lora
from bizlm.methods.partial import BitFit, FreezeLower, HeadOnly
from bizlm.methods.prompt_learning import Prefix, Prompt, Ptuning
from bizlm.methods.scaling import Ia3, Loha, Lokr, Vera
from bizlm.prompting.methods import FewShot, Pet, ZeroShot
from bizlm.prompting.prompt_predictor import open_prompt_bundle
from bizlm.tasks.base import open_task_bundle, register_task
from bizlm.tasks.classify import ClassifyTask, MultiLabelTask
from bizlm.tasks.generate import GenerateTask
from bizlm.tasks.score import ScoreTask
from bizlm.tasks.tag import TagTask


def register_methods() -> None:
    """The adaptation methods recipes may name."""
    register_method(BottleneckAdapters)
    register_method(FullFineTuning)
    register_method(Lora)
    register_method(AdaLora)
    register_method(Dpo)
    register_method(HeadOnly)
    register_method(BitFit)
    register_method(FreezeLower)
    register_method(Prefix)
    register_method(Prompt)
    register_method(Ptuning)
    register_method(Ia3)
    register_method(Vera)
    register_method(Loha)
    register_method(Lokr)
    register_method(ZeroShot)
    register_method(FewShot)
    register_method(Pet)


def register_tasks() -> None:
    """The task variants recipes may name (``task.type``, ``/multi_label`` for multi-label)."""
    register_task("classify")(ClassifyTask)
    register_task("classify/multi_label")(MultiLabelTask)
    register_task("score")(ScoreTask)
    register_task("tag")(TagTask)
    register_task("generate")(GenerateTask)


def register_strategies() -> None:
    """The continual-learning strategies of ``bizlm update --strategy``."""
    register_strategy(Adapters)
    register_strategy(Ewc)
    register_strategy(LearningWithoutForgetting)
    register_strategy(Naive)
    register_strategy(Replay)


def register_runtimes() -> None:
    """The runtimes a bundle may name, and the loader of prompted ``transformers`` bundles."""
    register_runtime("transformers", open_task_bundle)
    register_runtime(f"transformers/{PROMPT_KIND}", open_prompt_bundle)
    register_runtime("torch", open_torch_bundle)
    register_runtime("onnxruntime", open_onnx_bundle)
