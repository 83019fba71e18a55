"""Short fine-tunes after compression (recovery) and the features they train on."""

from __future__ import annotations

from typing import Any

from torch import nn

from bizlm.batching import Features
from bizlm.bundle_info import BundleInfo
from bizlm.inference import tokenize
from bizlm.progress import Reporter
from bizlm.recipe import TrainConfig
from bizlm.tasks import Examples
from bizlm.training.loop import LoopResult, chosen_metric, classification_evaluator, train_loop
from bizlm.training.prepare import PreparedData


def labelled_features(
    tokenizer: Any, rows: Examples, labels: list[str], max_length: int
) -> list[Features]:
    """Tokenised rows with their label index under ``labels``."""
    index = {label: i for i, label in enumerate(labels)}
    features = tokenize(tokenizer, rows.texts, max_length)
    for feature, label in zip(features, rows.targets, strict=True):
        feature["labels"] = index[str(label)]
    return features


def train_config(recipe_train: dict[str, Any], **changes: Any) -> TrainConfig:
    """The recipe's training settings with ``changes`` applied, early stopping off."""
    settings = {**recipe_train, "early_stopping_patience": None, **changes}
    return TrainConfig.model_validate(settings)


def recover(
    model: nn.Module,
    tokenizer: Any,
    data: PreparedData,
    info: BundleInfo,
    epochs: int,
    learning_rate: float,
    reporter: Reporter,
) -> LoopResult:
    """Fine-tune every weight of ``model`` for ``epochs`` on the recipe's training split; the
    best weights by validation macro-F1 are kept (pruning masks, if any, stay applied)."""
    config = train_config(
        info.train_settings, epochs=epochs, learning_rate=learning_rate, warmup_ratio=0.06
    )
    max_length = config.max_length
    train = labelled_features(tokenizer, data.splits["train"], data.labels, max_length)
    validation = labelled_features(tokenizer, data.splits["validation"], data.labels, max_length)
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    pad_id = int(tokenizer.pad_token_id or 0)
    evaluate = classification_evaluator(
        validation, [f["labels"] for f in validation], pad_id, config.eval_batch_size
    )
    return train_loop(
        model, train, evaluate, pad_id, config, reporter, chosen_metric(config, "macro_f1")
    )
