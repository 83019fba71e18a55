"""The prompt-learning methods, registered like every other method: ``zeroshot``, ``fewshot``
and ``pet``. They build a :class:`SentenceClassifier` (generative zero-shot and pet: a prompted
language model) without the shared training loop; the bundle is written as usual."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bizlm.errors import RecipeError
from bizlm.memory import rss_mib
from bizlm.method_config import TrainDefaults
from bizlm.methods.base import AdaptationMethod, BuiltModel
from bizlm.prompting.config import FewShotConfig, PetConfig, ZeroShotConfig
from bizlm.prompting.encoding import load_sentence_classifier
from bizlm.prompting.fewshot import fit_head, tune_encoder
from bizlm.prompting.generative import (
    PromptScorer,
    check_verbalisers,
    choose_calibration,
    load_generator,
)
from bizlm.prompting.pet import train_pet
from bizlm.prompting.prompt_predictor import PromptPredictor
from bizlm.prompting.zeroshot import build_zeroshot_head
from bizlm.training.loop import LoopResult


class _BuildsOwnModel(AdaptationMethod):
    """A method that builds its model directly; the model it returns is plain (mergeable)."""

    trains_in_loop = False
    supported_tasks = ("classify",)

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        """Single-label classification of single texts only."""
        if recipe.task.type != "classify" or recipe.task.multi_label:
            raise RecipeError(
                f"Method '{cls.name}' classifies single-label texts; task type "
                f"'{recipe.task.type}'{' (multi-label)' if recipe.task.multi_label else ''} "
                "needs another method.",
                hint="Use method full or lora for this task.",
            )
        if recipe.task.text_pair_column:
            raise RecipeError(
                f"Method '{cls.name}' reads one text per example; task.text_pair_column is set.",
                hint="Remove task.text_pair_column or use method full.",
            )
        unused = [
            f"regularise.{key}"
            for key, value in recipe.regularise.model_dump().items()
            if value != type(recipe.regularise).model_fields[key].default
        ]
        train = recipe.train
        if train.checkpoint_every is not None:
            unused.append("train.checkpoint_every")
        if train.mixed_precision != "no":
            unused.append("train.mixed_precision")
        if train.gradient_accumulation_steps != 1:
            unused.append("train.gradient_accumulation_steps")
        if unused:
            raise RecipeError(
                f"Method '{cls.name}' builds its model outside the shared training loop and "
                f"does not use {', '.join(unused)}.",
                hint="Remove those settings, or use a method such as full or lora.",
            )


class ZeroShot(_BuildsOwnModel):
    """Labels from their descriptions alone (embedding similarity or a generative LM)."""

    name = "zeroshot"
    train_defaults = TrainDefaults(learning_rate=5e-5, basis="unused: nothing is trained")
    config_class = ZeroShotConfig
    needs_training_data = False

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        """Every label needs a description; task.labels defaults to the described labels."""
        super().check_recipe(recipe)
        config: ZeroShotConfig = recipe.method
        if not config.labels:
            raise RecipeError(
                "Method zeroshot needs method.labels: each label with a description.",
                hint="e.g. method: {name: zeroshot, labels: {sport: 'Sports news.', …}}.",
            )
        if recipe.task.labels is None:
            recipe.task.labels = list(config.labels)
        missing = [label for label in recipe.task.labels if label not in config.labels]
        if missing:
            raise RecipeError(
                f"method.labels describes no label {', '.join(repr(m) for m in missing)} "
                "of task.labels.",
                hint="Add a description for every label (a sentence, or the label name).",
            )

    def build(self, recipe: Any, data: Any, reporter: Any) -> BuiltModel:
        """Label prototypes from the descriptions (no training examples are read)."""
        config: ZeroShotConfig = self.config  # type: ignore[assignment]
        started = time.perf_counter()
        if config.mode == "generative":
            return build_generative(recipe, data, config, reporter)
        location, tokenizer, model = load_sentence_classifier(recipe.model, data.labels)
        model.requires_grad_(False)  # nothing is trained
        build_zeroshot_head(
            model, tokenizer, data.labels, config.labels, config.scale, recipe.train.max_length
        )
        seconds = time.perf_counter() - started
        loop = LoopResult(train_seconds=seconds, peak_rss_mb=rss_mib(peak=True))
        return BuiltModel(model, tokenizer, location, loop)


class FewShot(_BuildsOwnModel):
    """Contrastive tuning of the sentence encoder on a few examples, then a linear head."""

    name = "fewshot"
    train_defaults = TrainDefaults(
        learning_rate=5e-5, basis="the few-shot benchmark's setting (bench/fewshot.py)"
    )
    config_class = FewShotConfig

    def build(self, recipe: Any, data: Any, reporter: Any) -> BuiltModel:
        """Tune the encoder on the training split, then fit the head on it."""
        config: FewShotConfig = self.config  # type: ignore[assignment]
        location, tokenizer, model = load_sentence_classifier(recipe.model, data.labels)
        examples = data.splits["train"]
        loop = tune_encoder(model, tokenizer, examples, recipe.train, config, reporter)
        started = time.perf_counter()
        fit_head(
            model,
            tokenizer,
            examples,
            data.labels,
            recipe.train.max_length,
            config.head_c,
            recipe.train.seed,
        )
        loop.train_seconds += time.perf_counter() - started
        loop.peak_rss_mb = rss_mib(peak=True)
        return BuiltModel(model, tokenizer, location, loop)


class Pet(_BuildsOwnModel):
    """The generative LM, LoRA-tuned to answer with the verbalisers (pattern-exploiting)."""

    name = "pet"
    train_defaults = TrainDefaults(
        learning_rate=5e-5, basis="unchanged from the single train default"
    )
    config_class = PetConfig

    def build(self, recipe: Any, data: Any, reporter: Any) -> BuiltModel:
        """Train the generator's LoRA update on the training split and merge it."""
        return train_pet(recipe, data, self.config, reporter)  # type: ignore[arg-type]


def build_generative(recipe: Any, data: Any, config: ZeroShotConfig, reporter: Any) -> BuiltModel:
    """The generator with its prompt settings (and measured prior) for the bundle."""
    started = time.perf_counter()
    labels = data.labels
    location, tokenizer, model = load_generator(config.generator)
    verbalisers = [config.labels[label].verbaliser or label for label in labels]
    check_verbalisers(tokenizer, labels, verbalisers)
    scorer = PromptScorer(model, tokenizer, config.template, verbalisers, recipe.train.max_length)
    prior = scorer.content_free_prior()
    calibration = choose_calibration(
        scorer, prior, config.calibrate, data.splits.get("validation"), labels
    )
    reporter.note(
        "content-free prior: "
        + ", ".join(f"{v} {np.exp(p):.2f}" for v, p in zip(verbalisers, prior, strict=True))
        + f"; calibration {'applied' if calibration['applied'] else 'not applied'}"
    )
    model.requires_grad_(False)
    loop = LoopResult(train_seconds=time.perf_counter() - started)
    prompt = {
        "template": config.template,
        "verbalisers": verbalisers,
        "prior": prior if calibration["applied"] else None,
        "calibration": calibration,
    }
    return BuiltModel(
        model, tokenizer, location, loop, predictor_class=PromptPredictor, info={"prompt": prompt}
    )
