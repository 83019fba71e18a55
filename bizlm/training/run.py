"""``bizlm.train(recipe)``: data → backbone → method → loop → evaluation → bundle."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import transformers
from accelerate.utils import set_seed
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from bizlm import __version__
from bizlm.backbones import resolve_model
from bizlm.bundle import write_bundle
from bizlm.data.columns import LabelledRows
from bizlm.data.prepare import PreparedData, prepare_data
from bizlm.evaluation import classification_metrics, render_model_card, write_report
from bizlm.inference import tokenize
from bizlm.methods import TrainingPlan, build_method, check_task, count_parameters
from bizlm.predictor import Predictor
from bizlm.recipe import Recipe, load_recipe
from bizlm.training.batching import Features
from bizlm.training.loop import LoopResult, train_loop
from bizlm.training.progress import Reporter


@dataclass
class TrainResult:
    """Where the bundle went and how it scored."""

    bundle: Path
    metrics: dict[str, Any]
    info: dict[str, Any]

    @property
    def interrupted(self) -> bool:
        """True when the user stopped training early (the best weights so far were saved)."""
        return bool(self.info["training"]["interrupted"])


def _load_backbone(reference: str, labels: list[str]):
    location = resolve_model(reference)
    tokenizer = AutoTokenizer.from_pretrained(location)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the "newly initialised head" notice is expected
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            location,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
        )
    finally:
        transformers.logging.set_verbosity(verbosity)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return location, tokenizer, model


def _features(tokenizer, rows: LabelledRows, labels: list[str], max_length: int) -> list[Features]:
    index = {label: i for i, label in enumerate(labels)}
    features = tokenize(tokenizer, rows.texts, max_length)
    for feature, label in zip(features, rows.labels, strict=True):
        feature["labels"] = index[str(label)]
    return features


def _score(predictor: Predictor, rows: LabelledRows, labels: list[str]) -> dict[str, Any]:
    probabilities = predictor.predict_proba(rows.texts)
    gold = [labels.index(str(label)) for label in rows.labels]
    return classification_metrics(gold, probabilities, labels)


def _total_steps(examples: int, recipe: Recipe) -> int:
    batches = math.ceil(examples / recipe.train.batch_size)
    return math.ceil(batches / recipe.train.gradient_accumulation_steps) * recipe.train.epochs


def train(
    recipe: Recipe | str | Path | dict[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    reporter: Reporter | None = None,
) -> TrainResult:
    """Train the model a recipe describes and write its bundle; return where and how well."""
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides)
    reporter = reporter or Reporter()
    output = Path(recipe.output or "runs/model")
    data = prepare_data(recipe)
    set_seed(recipe.train.seed)  # the new head's initial weights depend on it
    location, tokenizer, model = _load_backbone(recipe.model, data.labels)
    method = build_method(recipe.method)
    check_task(type(method), recipe.task.type)
    plan = TrainingPlan(
        total_steps=_total_steps(len(data.splits["train"].texts), recipe), task=recipe.task.type
    )
    trainable = method.prepare(model, plan)
    trainable_params, total_params = count_parameters(trainable)
    reporter.note(
        f"{recipe.method.name}: training {trainable_params:,} of {total_params:,} parameters "
        f"({100 * trainable_params / total_params:.2f}%) on {len(data.splits['train'].texts):,} "
        "examples"
    )
    max_length = recipe.train.max_length
    train_features = _features(tokenizer, data.splits["train"], data.labels, max_length)
    val_features = _features(tokenizer, data.splits["validation"], data.labels, max_length)
    loop = train_loop(
        trainable,
        train_features,
        val_features,
        [f["labels"] for f in val_features],
        int(tokenizer.pad_token_id),
        recipe.train,
        reporter,
        method.on_optimizer_step,
    )
    with tempfile.TemporaryDirectory() as scratch:
        adapter_dir, model_dir = Path(scratch) / "adapter", Path(scratch) / "model"
        has_adapter = method.save_adapter(trainable, adapter_dir)
        exported = method.export_model(trainable)
        exported.save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
        served = exported if method.mergeable else method.load_adapter(exported, adapter_dir)
        predictor = Predictor(served, tokenizer, data.labels, max_length)
        metrics = {"validation": _score(predictor, data.splits["validation"], data.labels)}
        if "test" in data.splits and data.splits["test"].texts:
            metrics["test"] = _score(predictor, data.splits["test"], data.labels)
        info = _bundle_info(recipe, location, data, loop, metrics, trainable_params, total_params)
        info["merged"] = method.mergeable

        def write_contents(staging: Path) -> None:
            shutil.copytree(model_dir, staging / "model")
            if has_adapter:
                shutil.copytree(adapter_dir, staging / "adapter")
            _write_documents(staging, info, data, output.name)

        write_bundle(output, info, write_contents)
    return TrainResult(bundle=output, metrics=info["metrics"], info=info)


def _bundle_info(
    recipe: Recipe,
    location: str,
    data: PreparedData,
    loop: LoopResult,
    metrics: dict[str, Any],
    trainable_params: int,
    total_params: int,
) -> dict[str, Any]:
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": recipe.task.type,
        "labels": data.labels,
        "recipe": recipe.resolved(),
        "backbone": {"reference": recipe.model, "location": location},
        "parent": None,
        "data": data.summary,
        "metrics": headline_metrics(metrics),
        "training": training_record(loop, trainable_params, total_params),
    }


def headline_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The bundle's headline scores: test when there is a test split, else validation."""
    headline = metrics.get("test") or metrics["validation"]
    return {
        **headline,
        "evaluated_on": "test" if "test" in metrics else "validation",
        "validation": metrics["validation"],
    }


def training_record(loop: LoopResult, trainable_params: int, total_params: int) -> dict[str, Any]:
    """What the bundle records about a finished training loop."""
    return {
        "history": loop.history,
        "best": loop.best,
        "stopped_early": loop.stopped_early,
        "interrupted": loop.interrupted,
        "train_seconds": round(loop.train_seconds, 2),
        "samples_per_s": round(loop.samples_per_s, 2),
        "optimizer_steps": loop.optimizer_steps,
        "peak_rss_mb": round(loop.peak_rss_mb, 1),
        "trainable_parameters": trainable_params,
        "total_parameters": total_params,
    }


def _card_data(summary: dict[str, Any]) -> dict[str, Any]:
    """The data description in the shape the model card reads."""
    catalog = summary.get("catalog")
    files = summary.get("files", {})
    return {
        "source": f"bizlm catalog dataset '{catalog['name']}' ({catalog['package']}=="
        f"{catalog['version']})"
        if catalog
        else "user files",
        "files": [f"{path} (sha256 {entry['sha256'][:16]}…)" for path, entry in files.items()],
        "counts": summary.get("counts", {}),
        "label_distribution": summary.get("label_distribution", {}),
        "licence": catalog.get("licence") if catalog else None,
        "rows_skipped": sum(sum(entry["skipped"].values()) for entry in files.values()),
    }


def _write_documents(staging: Path, info: dict[str, Any], data: PreparedData, name: str) -> None:
    training = info["training"]
    recipe = info["recipe"]
    summary = {
        "backbone": recipe["model"],
        "method": recipe["method"]["name"],
        "task": info["task"],
        "trainable parameters": f"{training['trainable_parameters']:,} of "
        f"{training['total_parameters']:,}",
        "train time (s)": training["train_seconds"],
        "train samples/s": training["samples_per_s"],
        "evaluated on": info["metrics"]["evaluated_on"],
        "interrupted": training["interrupted"],
    }
    write_report(
        staging / "report.html",
        title=f"bizlm report: {name}",
        metrics=info["metrics"],
        labels=data.labels,
        history=training["history"],
        summary=summary,
    )
    card_summary = {
        "backbone": f"{recipe['model']} ({info['backbone']['location']})",
        "method": recipe["method"]["name"],
        "task": info["task"],
        "trainable_params": training["trainable_parameters"],
        "total_params": training["total_parameters"],
        "bizlm_version": info.get("versions", {}).get("bizlm", __version__),
    }
    card = render_model_card(
        name=name,
        summary=card_summary,
        labels=data.labels,
        metrics=info["metrics"],
        data=_card_data(data.summary),
    )
    (staging / "MODEL_CARD.md").write_text(card, encoding="utf-8")
