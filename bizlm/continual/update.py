"""``bizlm update``: continue a bundle on new data, with new labels, without forgetting.

The parent's model is loaded with its head grown to the new labels (old ids keep their
meaning); the chosen strategy trains it with the one training loop; the new bundle records its
parent, every stage seen, the accuracy matrix over them and the forgetting figures, and carries
what the next update needs (memory, held-out stage examples, Fisher information, adapters).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import set_seed

from bizlm.bundle import read_bundle_info
from bizlm.bundle_info import BundleInfo
from bizlm.compress.source import bundle_data, sample_rows
from bizlm.continual.bundle import StageResult, write_update_bundle
from bizlm.continual.head import load_extended
from bizlm.continual.memory import ReplayMemory
from bizlm.continual.parent import (
    check_memory,
    check_parent,
    check_recipe,
    memory_items,
    new_labels,
    update_recipe,
)
from bizlm.continual.stages import StageHistory, load_eval_set, stage_accuracy
from bizlm.continual.strategies import UpdateContext, build_strategy
from bizlm.errors import BizlmError, DataError, RecipeError
from bizlm.methods import TrainingPlan, build_method, count_parameters
from bizlm.progress import Reporter
from bizlm.recipe import Recipe
from bizlm.tasks import Examples, build_task
from bizlm.training.loop import LoopHooks, chosen_metric, train_loop
from bizlm.training.prepare import PreparedData, prepare_data
from bizlm.training.run import total_steps


@dataclass
class UpdateResult:
    """Where the new bundle went and what it recorded (``info``: its ``bizlm.json``)."""

    bundle: Path
    info: dict[str, Any]


def _parent_data(info: BundleInfo, reporter: Reporter) -> PreparedData | None:
    """The parent's own splits, when its data files can still be read."""
    try:
        return bundle_data(info)
    except DataError as exc:
        reporter.note(f"the parent's training data cannot be read ({exc.message})")
        return None


def held_out(data: PreparedData, size: int, seed: int) -> Examples:
    """A stage's held-out examples: its test split, else its validation split (sampled)."""
    test = data.splits.get("test")
    rows = test if test is not None and len(test) else data.splits["validation"]
    return sample_rows(rows, size, seed)


def _validation_judges_all(validation: Examples, labels: list[str], reporter: Reporter) -> bool:
    """Whether the validation split has every label, so its best checkpoint can be trusted.

    New data often holds only the new labels. Scoring on it rewards predicting the new labels
    everywhere, so its best checkpoint tends to be the one that forgot the most; the update then
    keeps its last weights instead.
    """
    missing = set(labels) - {str(t) for t in validation.targets}
    if missing:
        reporter.note(
            f"validation has no examples of {len(missing)} of {len(labels)} labels; "
            "keeping the last weights rather than the checkpoint best on the new labels"
        )
    return not missing


def _stage_record(index: int, train: Examples | None, kept: Examples | None, source: str):
    return {
        "index": index,
        "source": source,
        "labels": sorted({str(t) for t in train.targets}) if train is not None else None,
        "train_examples": len(train) if train is not None else None,
        "eval_examples": len(kept) if kept is not None else 0,
    }


def _starting_memory(
    parent: Path,
    recipe: Recipe,
    parent_data: PreparedData | None,
    model: torch.nn.Module,
    tokenizer: Any,
) -> ReplayMemory | None:
    """The parent's memory (resized to the recipe's bound), or one drawn from the parent's
    training data when the parent came from `bizlm train`."""
    config, sizes = recipe.continual, (recipe.train.max_length, recipe.train.eval_batch_size)
    memory = ReplayMemory.load(parent)
    if memory is not None:
        memory.resize(config.memory_per_class)
    elif config.memory_per_class and parent_data is not None:
        memory = ReplayMemory(config.memory_per_class, config.memory_keep, recipe.data.seed)
        first_train = parent_data.splits["train"]
        items = memory_items(memory, model, tokenizer, first_train.texts, *sizes)
        memory.add_all([str(t) for t in first_train.targets], items, stage=0)
    return memory


def _past_eval_sets(
    parent: Path,
    history: StageHistory,
    parent_data: PreparedData | None,
    recipe: Recipe,
    model: torch.nn.Module,
    tokenizer: Any,
    old_labels: list[str],
) -> dict[int, Examples | None]:
    """Held-out examples of every past stage. A parent from `bizlm train` becomes stage 0 of
    ``history`` here, scored on its own held-out data (when that can still be read)."""
    if history.stages:
        return {j: load_eval_set(parent, j) for j in range(history.next_stage)}
    config = recipe.continual
    first_train = parent_data.splits["train"] if parent_data else None
    first = held_out(parent_data, config.eval_per_stage, recipe.data.seed) if parent_data else None
    history.stages.append(_stage_record(0, first_train, first, str(parent)))
    sizes = (recipe.train.max_length, recipe.train.eval_batch_size)
    accuracy = stage_accuracy(model, tokenizer, first, old_labels, *sizes) if first else None
    history.matrix.append([accuracy])
    return {0: first}


def update(
    bundle: str | Path,
    data: str | Path,
    output: str | Path,
    strategy: str | None = None,
    overrides: Sequence[str] = (),
    max_forgetting: float | None = None,
    reporter: Reporter | None = None,
) -> UpdateResult:
    """Continue ``bundle`` on the labelled file ``data`` and write the result to ``output``.

    Raises :class:`~bizlm.continual.bundle.ForgettingGateError` (after writing the bundle,
    marked rejected) when accuracy on the past stages' held-out examples drops by more than
    ``max_forgetting`` (a fraction: 0.02 is two points).
    """
    reporter = reporter or Reporter()
    parent, output, data = Path(bundle), Path(output), Path(data)
    info = read_bundle_info(parent)
    check_parent(parent, info)
    recipe = update_recipe(info, data, output, overrides, strategy)
    check_recipe(info, recipe)
    config, train_config = recipe.continual, recipe.train
    task = build_task(recipe.task)
    old_labels = list(info.labels)
    labels = old_labels + new_labels(task, recipe, data, old_labels)
    recipe.task.labels = labels
    prepared = prepare_data(recipe, task)
    if max_forgetting is not None and config.memory_keep == "embeddings":
        raise BizlmError(
            "--max-forgetting needs held-out examples of the past stages, and "
            "continual.memory_keep: embeddings keeps no text.",
            hint="Drop --max-forgetting, or keep text (continual.memory_keep: text).",
        )
    chosen = build_strategy(config.strategy)
    chosen.check(recipe)
    method = build_method(chosen.method_config(recipe))
    if not method.mergeable:
        raise RecipeError(
            f"Method '{recipe.method.name}' keeps its adapter apart from the model, so the "
            "update could not be continued again.",
            hint="Add --set method.name=full (or lora), or use --strategy adapters.",
        )
    history = StageHistory.from_info(info)
    parent_data = None if history.stages else _parent_data(info, reporter)
    set_seed(train_config.seed)
    model, tokenizer = load_extended(parent / "model", old_labels, labels)
    sizes = (train_config.max_length, train_config.eval_batch_size)

    memory = _starting_memory(parent, recipe, parent_data, model, tokenizer)
    if chosen.needs_memory and memory is None:
        raise BizlmError(
            f"Strategy '{chosen.name}' needs past examples, but '{parent}' keeps no memory and "
            "its training data cannot be read.",
            hint="Use --strategy lwf, ewc or adapters (they need no past data).",
        )
    check_memory(memory, dict(Counter(str(t) for t in prepared.splits["train"].targets)))

    eval_sets = _past_eval_sets(parent, history, parent_data, recipe, model, tokenizer, old_labels)
    if max_forgetting is not None and not any(rows is not None for rows in eval_sets.values()):
        raise BizlmError(
            "--max-forgetting needs held-out examples of the past stages, but the parent keeps "
            "none and its training data cannot be read.",
            hint="Drop --max-forgetting, or make the parent's data files readable again.",
        )
    stage = history.next_stage
    current = held_out(prepared, config.eval_per_stage, recipe.data.seed)
    context = UpdateContext(
        parent=parent,
        parent_info=info,
        recipe=recipe,
        old_labels=old_labels,
        labels=labels,
        train=prepared.splits["train"],
        stage=stage,
        memory=memory,
        reporter=reporter,
        tokenizer=tokenizer,
        parent_train=parent_data.splits["train"] if parent_data else None,
    )

    features = task.features(tokenizer, chosen.training_examples(context), labels, sizes[0])
    chosen.prepare_features(model, features, context)
    plan = TrainingPlan(total_steps=total_steps(len(features), recipe), task="classify")
    trainable = method.prepare(model, plan)
    trainable_params, total_params = count_parameters(trainable)
    reporter.note(
        f"{chosen.name} update, stage {stage}: {len(context.train):,} new examples, "
        f"{len(labels) - len(old_labels)} new label(s); training {trainable_params:,} of "
        f"{total_params:,} parameters"
    )
    validation = prepared.splits["validation"]
    hooks = LoopHooks(
        loss_function=chosen.loss_function(trainable, context),
        restore_best=_validation_judges_all(validation, labels, reporter),
    )
    evaluate = task.evaluator(tokenizer, validation, labels, *sizes)
    metric = chosen_metric(train_config, task.primary_metric)
    pad_id = int(tokenizer.pad_token_id or 0)
    loop = train_loop(trainable, features, evaluate, pad_id, train_config, reporter, metric, hooks)

    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch)
        chosen.save_state(trainable, state, context)
        has_adapter = method.save_adapter(trainable, state / "adapter")
        exported = method.export_model(trainable)
        row = [
            stage_accuracy(exported, tokenizer, rows, labels, *sizes) if rows else None
            for rows in (eval_sets[j] for j in range(stage))
        ]
        row.append(stage_accuracy(exported, tokenizer, current, labels, *sizes))
        history.matrix.append(row)
        history.stages.append(_stage_record(stage, context.train, current, str(data)))
        eval_sets[stage] = current
        if memory is not None:
            items = memory_items(memory, exported, tokenizer, context.train.texts, *sizes)
            memory.add_all([str(t) for t in context.train.targets], items, stage)
        result = StageResult(
            parent=parent,
            parent_info=info,
            recipe=recipe,
            task=task,
            data=prepared,
            strategy=chosen.name,
            history=history,
            eval_sets=eval_sets,
            memory=memory,
            loop=loop,
            parameters=(trainable_params, total_params),
            record=context.record,
            max_forgetting=max_forgetting,
        )
        new_info = write_update_bundle(output, result, exported, tokenizer, state, has_adapter)
    return UpdateResult(bundle=output, info=new_info.as_json())
