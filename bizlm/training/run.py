"""``bizlm.train(recipe)``: data → backbone → method → loop → evaluation → bundle."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from accelerate.utils import set_seed
from transformers import AutoTokenizer

from bizlm.backbones import resolve_model
from bizlm.bundle import read_bundle_info, write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.data.augment import augment_examples
from bizlm.errors import RecipeError
from bizlm.methods import (
    AdaptationMethod,
    BuiltModel,
    TrainingPlan,
    build_method,
    check_task,
    count_parameters,
)
from bizlm.ngram_model import NGRAM_DIR
from bizlm.progress import Reporter
from bizlm.recipe import Recipe, load_recipe
from bizlm.tasks import Task, build_task
from bizlm.tasks.rows import warn
from bizlm.training import distributed
from bizlm.training.blend import blend_baseline, blend_sentence, blend_wanted
from bizlm.training.checkpoints import open_checkpoints
from bizlm.training.comparison import (
    compare_with_baselines,
    fit_reference_baseline,
    majority_for,
)
from bizlm.training.documents import headline_metrics, training_record, write_documents
from bizlm.training.ensemble import check_ensemble, train_ensemble
from bizlm.training.learning_check import LearningWatch, resolve_class_weights
from bizlm.training.loop import LoopHooks, LoopResult, chosen_metric, train_loop
from bizlm.training.prepare import PreparedData, prepare_data
from bizlm.training.regularise import build_regularisation
from bizlm.training.scoring import calibrate_and_score
from bizlm.training.tracking import Observer, open_tracker


@dataclass
class TrainResult:
    """Where the bundle went and how it scored; ``info`` is its ``bizlm.json``."""

    bundle: Path
    metrics: dict[str, Any]
    info: dict[str, Any]

    @classmethod
    def of(cls, bundle: Path, info: BundleInfo) -> TrainResult:
        """The result of the bundle at ``bundle`` whose manifest is ``info``."""
        return cls(bundle=bundle, metrics=info.metrics, info=info.as_json())

    @property
    def interrupted(self) -> bool:
        """True when the user stopped training early (the best weights so far were saved)."""
        return bool(self.info["training"]["interrupted"])

    @property
    def verdict(self) -> dict[str, Any] | None:
        """How the model compares with the baseline and the majority class (None: no
        comparison, as for tag tasks); ``verdict["passed"]`` is the min-margin gate."""
        return self.info.get("verdict")


def _load_backbone(reference: str, task: Task, labels: list[str]):
    location = resolve_model(reference)
    tokenizer = AutoTokenizer.from_pretrained(location)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the "newly initialised head" notice is expected
    try:
        model = task.auto_model.from_pretrained(location, **task.model_options(labels))
    finally:
        transformers.logging.set_verbosity(verbosity)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return location, tokenizer, model


def _early_stopping_metric(recipe: Recipe, task: Task) -> str:
    metric = chosen_metric(recipe.train, task.primary_metric)
    if metric not in task.validation_metrics:
        raise RecipeError(
            f"train.early_stopping_metric '{metric}' does not apply to task '{recipe.task.type}'.",
            hint=f"Choose one of: auto, {', '.join(task.validation_metrics)}.",
        )
    return metric


def total_steps(examples: int, recipe: Recipe) -> int:
    """Optimizer steps of a run over ``examples`` (accumulation and epochs included)."""
    batches = math.ceil(examples / recipe.train.batch_size)
    return math.ceil(batches / recipe.train.gradient_accumulation_steps) * recipe.train.epochs


def train(
    recipe: Recipe | str | Path | dict[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    reporter: Reporter | None = None,
    resume: bool | str | Path = False,
    observers: Sequence[Observer] = (),
) -> TrainResult:
    """Train the model a recipe describes and write its bundle; return where and how well.

    ``resume``: continue from the latest checkpoint of ``output`` (True) or of a given run
    folder, ``.checkpoints`` folder or ``step-<N>`` folder (a path); see ``train.checkpoint_every``.
    ``observers`` see every history record as it is logged (see ``track:`` for the trackers).
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides)
    distributed.check_setup(recipe.train)  # before any slow work
    reporter = distributed.reporter_for_process(reporter or Reporter())
    if recipe.regularise.ensemble > 1:
        check_ensemble(recipe, resume)
        info = train_ensemble(recipe, train, reporter, observers)
        return TrainResult.of(Path(recipe.output or "runs/model"), info)
    output = Path(recipe.output or "runs/model")
    task = build_task(recipe.task)
    metric = _early_stopping_metric(recipe, task)
    method = build_method(recipe.method)
    check_task(type(method), recipe.task.type)
    with distributed.main_process_first():  # one process fills the caches, the others read
        data = prepare_data(recipe, task)
    class_weights = resolve_class_weights(recipe, data.summary)
    if class_weights is not None:
        data.summary["class_weights"] = class_weights
        if class_weights["applied"] == "balanced":
            reporter.note(
                f"label '{class_weights['smallest_label']}' is "
                f"{class_weights['smallest_share']:.1%} of the training split: classes are "
                "weighted (regularise.class_weights: balanced)"
            )
    majority = majority_for(recipe, data)
    if not method.trains_in_loop:
        if resume or distributed.process_state().num_processes > 1:
            raise RecipeError(
                f"Method '{recipe.method.name}' builds its model in one short pass: it has no "
                "checkpoints to resume and trains in one process.",
                hint="Run `bizlm train RECIPE` without --resume and --processes.",
            )
        return _train_own_model(recipe, task, method, data, output, reporter, observers, majority)
    checkpointer = open_checkpoints(recipe, output, data.summary, resume)
    if checkpointer.source is not None:
        reporter.note(f"resuming from {checkpointer.source}")
    set_seed(recipe.train.seed)  # the new head's initial weights depend on it
    with distributed.main_process_first():
        location, tokenizer, model = _load_backbone(recipe.model, task, data.labels)
    if recipe.train.gradient_checkpointing:  # before a method wraps the model
        distributed.enable_gradient_checkpointing(model, recipe.model)
    max_length = recipe.train.max_length
    for name, examples in data.splits.items():
        note = task.length_note(tokenizer, examples, max_length)
        if note:
            warn(data.summary, f"{name} split: {note}")
    regularise = recipe.regularise
    train_split = augment_examples(
        data.splits["train"], regularise.augment, regularise.augment_rate, recipe.train.seed
    )
    train_features = task.features(tokenizer, train_split, data.labels, max_length)
    plan = TrainingPlan(total_steps=total_steps(len(train_features), recipe), task=recipe.task.type)
    trainable = method.prepare(model, plan)
    trainable_params, total_params = count_parameters(trainable)
    reporter.note(
        f"{recipe.method.name}: training {trainable_params:,} of {total_params:,} parameters "
        f"({100 * trainable_params / total_params:.2f}%) on {len(data.splits['train']):,} "
        "examples"
    )
    evaluate = task.evaluator(
        tokenizer, data.splits["validation"], data.labels, max_length, recipe.train.eval_batch_size
    )
    regularisation = build_regularisation(
        regularise, recipe.task, task.loss_function(), data.splits["train"], data.labels
    )
    tracker = open_tracker(recipe.resolved(), recipe.track, output, observers)
    floor = (majority or {}).get("validation", {}).get(task.primary_metric)
    watch = LearningWatch(task.primary_metric, floor, recipe, data.summary, reporter)

    def on_log(record: dict[str, Any]) -> None:
        tracker.on_log(record)
        watch(record)

    hooks = LoopHooks(
        loss_function=regularisation.loss_function,
        on_optimizer_step=method.on_optimizer_step,
        label_padding=task.label_padding,
        adversary=regularisation.adversary,
        on_log=on_log,
    )
    pad_id = int(tokenizer.pad_token_id)
    loop = train_loop(
        trainable,
        train_features,
        evaluate,
        pad_id,
        recipe.train,
        reporter,
        metric,
        hooks,
        checkpointer,
    )
    if not distributed.is_main_process():  # the main process scores and writes the bundle
        distributed.wait_for_everyone()
        return TrainResult.of(output, read_bundle_info(output))
    info = _write_trained(
        recipe,
        task,
        method,
        trainable,
        tokenizer,
        data,
        location,
        loop,
        output,
        (trainable_params, total_params),
        majority=majority,
    )
    distributed.wait_for_everyone()  # now the other processes may read it
    tracker.finish(output, info)
    return TrainResult.of(output, info)


def _train_own_model(
    recipe: Recipe,
    task: Task,
    method: AdaptationMethod,
    data: PreparedData,
    output: Path,
    reporter: Reporter,
    observers: Sequence[Observer],
    majority: dict[str, Any] | None,
) -> TrainResult:
    """Train with a method that builds its model itself (zero-shot, few-shot)."""
    set_seed(recipe.train.seed)
    built = method.build(recipe, data, reporter)
    params = count_parameters(built.model)
    tracker = open_tracker(recipe.resolved(), recipe.track, output, observers)
    for record in built.loop.history:
        tracker.on_log(record)
    info = _write_trained(
        recipe,
        task,
        method,
        built.model,
        built.tokenizer,
        data,
        built.location,
        built.loop,
        output,
        params,
        built,
        majority,
    )
    tracker.finish(output, info)
    return TrainResult.of(output, info)


def _write_trained(
    recipe: Recipe,
    task: Task,
    method: AdaptationMethod,
    trainable: torch.nn.Module,
    tokenizer: Any,
    data: PreparedData,
    location: str,
    loop: LoopResult,
    output: Path,
    params: tuple[int, int],
    built: BuiltModel | None = None,
    majority: dict[str, Any] | None = None,
) -> BundleInfo:
    """Score the trained model on validation and test and write its bundle; return bizlm.json."""
    max_length = recipe.train.max_length
    predictor_class = (built and built.predictor_class) or task.predictor_class()
    with tempfile.TemporaryDirectory() as scratch:
        adapter_dir, model_dir = Path(scratch) / "adapter", Path(scratch) / "model"
        has_adapter = method.save_adapter(trainable, adapter_dir)
        exported = method.export_model(trainable)
        exported.save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
        served = exported if method.mergeable else method.load_adapter(exported, adapter_dir)
        extra = built.info if built else {}
        settings = BundleInfo(labels=data.labels, recipe=recipe.resolved(), **extra)
        predictor = predictor_class(served, tokenizer, data.labels, max_length, settings)
        calibration, metrics = calibrate_and_score(task, predictor, data)
        baseline, ngram = fit_reference_baseline(recipe, data, majority)
        blended = None
        if ngram is not None and built is None and blend_wanted(recipe):
            blended = blend_baseline(task, predictor, data, ngram, calibration, metrics)
            calibration, metrics = blended.calibration, blended.metrics
        compared, verdict = compare_with_baselines(recipe, task, metrics, majority, baseline)
        info = _bundle_info(recipe, location, data, loop, metrics, *params)
        info.metrics.update(compared)
        if blended is not None:
            info.blend = blended.record
            sentence = verdict and blend_sentence(blended.record, verdict.get("split"))
            if sentence:
                verdict["message"] = f"{verdict['message']} {sentence}"
        if verdict is not None:
            info.verdict = verdict
        info.merged = method.mergeable
        for key, value in extra.items():
            setattr(info, key, value)
        if calibration:
            info.calibration = calibration

        def write_contents(staging: Path) -> None:
            shutil.copytree(model_dir, staging / "model")
            if has_adapter:
                shutil.copytree(adapter_dir, staging / "adapter")
            if blended is not None and blended.ngram is not None:
                blended.ngram.save(staging / NGRAM_DIR)
            write_documents(staging, info, data, output.name)

        write_bundle(output, info, write_contents)
    return info


def _bundle_info(
    recipe: Recipe,
    location: str,
    data: PreparedData,
    loop: LoopResult,
    metrics: dict[str, Any],
    trainable_params: int,
    total_params: int,
) -> BundleInfo:
    return BundleInfo(
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        task=recipe.task.type,
        labels=data.labels,
        recipe=recipe.resolved(),
        backbone={"reference": recipe.model, "location": location},
        parent=None,
        data=data.summary,
        metrics=headline_metrics(metrics),
        training=training_record(loop, trainable_params, total_params),
    )
