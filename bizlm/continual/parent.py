"""What an update takes from its parent bundle, and the checks on what the user asks for."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from bizlm.bundle_info import BundleInfo
from bizlm.compress.source import check_source
from bizlm.continual.head import head_inputs
from bizlm.continual.memory import ReplayMemory
from bizlm.errors import BizlmError, DataError, RecipeError
from bizlm.recipe import Recipe, load_recipe
from bizlm.tasks import Task
from bizlm.tasks.base import require_single_label

_DATA_SOURCE_KEYS = ("catalog", "train", "validation", "test")


def check_parent(path: Path, info: BundleInfo) -> None:
    """Refuse parents an update cannot continue: other tasks, exports, quantised models."""
    require_single_label(path, info, "continual updates")
    if info.task_settings.get("text_pair_column"):
        raise BizlmError(
            f"Bundle '{path}' classifies text pairs; continual updates support single texts.",
            hint="Retrain on the combined data with `bizlm train`.",
        )
    if info.runtime != "transformers" or info.compression:
        raise BizlmError(
            f"Bundle '{path}' is an export ({info.runtime}); updates continue the fp32 "
            "bundle written by `bizlm train` or `bizlm update`.",
            hint="Update the bundle it was exported from, then export the result again.",
        )
    if not info.merged:
        method = info.method_settings.get("name")
        raise BizlmError(
            f"Bundle '{path}' was trained with method '{method}', whose adapter is not merged "
            "into model/; updates continue a merged model.",
            hint="Retrain it with a mergeable method (full, lora, ia3, …) before updating.",
        )
    method = info.method_name
    if method in {"zeroshot", "fewshot", "pet"}:
        raise BizlmError(
            f"Bundle '{path}' was built with method '{method}', which does not train in the "
            "shared loop that updates continue.",
            hint="Train it again with the new labels described (zeroshot) or with their "
            "examples added (fewshot, pet).",
        )
    check_source(path, info, "none")


def update_recipe(
    info: BundleInfo,
    data: Path,
    output: Path,
    overrides: Sequence[str],
    strategy: str | None,
) -> Recipe:
    """The parent's recipe, reading ``data`` (split by the parent's fractions), writing
    ``output``, with ``--set`` overrides and the strategy applied."""
    if not data.is_file():
        raise DataError(f"Update data '{data}' does not exist.", hint="Pass a labelled file.")
    raw = copy.deepcopy(info.recipe)
    raw["data"] = {k: v for k, v in raw["data"].items() if k not in _DATA_SOURCE_KEYS}
    raw["data"]["train"] = str(data)
    raw["data"]["max_train_examples"] = None
    raw["task"]["labels"] = None
    raw["output"] = str(output)
    raw.setdefault("continual", {})
    if strategy is not None:
        raw["continual"]["strategy"] = strategy
    return load_recipe(raw, list(overrides))


def check_recipe(info: BundleInfo, recipe: Recipe) -> None:
    """An update keeps the parent's backbone and task type."""
    parent = info.recipe
    if recipe.model != parent["model"]:
        raise RecipeError(
            f"An update continues its parent's backbone '{parent['model']}'; it cannot switch "
            f"to '{recipe.model}'.",
            hint="Drop the model override, or train a new bundle with `bizlm train`.",
        )
    if recipe.task.type != parent["task"]["type"] or recipe.task.multi_label:
        raise RecipeError(
            f"An update keeps its parent's task type '{parent['task']['type']}' (single-label); "
            f"got '{recipe.task.type}'{' with multi_label' if recipe.task.multi_label else ''}.",
            hint="Drop the task override, or train a new bundle with `bizlm train`.",
        )


def new_labels(task: Task, recipe: Recipe, data: Path, old_labels: list[str]) -> list[str]:
    """Labels of ``data`` the parent does not know, sorted; refuses a file without rows."""
    examples = task.read(data, recipe.data.encoding, {})
    if not len(examples):
        raise DataError(
            f"Update data '{data}' has no usable rows.",
            hint=f"Give rows with a '{recipe.task.text_column}' and a "
            f"'{recipe.task.label_column}' value.",
        )
    known = set(old_labels)
    return sorted({str(t) for t in examples.targets} - known)


def memory_items(
    memory: ReplayMemory,
    model: torch.nn.Module,
    tokenizer: Any,
    texts: list[str],
    max_length: int,
    batch_size: int,
) -> list[Any]:
    """What the memory stores for ``texts``: the texts, or the vectors the head reads."""
    if memory.keep == "text":
        return list(texts)
    return head_inputs(model, tokenizer, texts, max_length, batch_size)


def check_memory(memory: ReplayMemory | None, train_counts: dict[str, int]) -> None:
    """Refuse a memory bound no label could ever fill (it says the setting is a mistake)."""
    if memory is None:
        return
    seen = dict(memory.seen)
    for label, count in train_counts.items():
        seen[label] = seen.get(label, 0) + count
    most = max(seen.values(), default=0)
    if memory.per_class > most:
        raise RecipeError(
            f"continual.memory_per_class is {memory.per_class}, more than the {most} examples "
            "the most frequent label has had so far, so the memory could never fill.",
            hint=f"Set --set continual.memory_per_class={max(1, most)} or lower.",
        )
