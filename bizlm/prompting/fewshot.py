"""Few-shot training: tune the encoder contrastively on the K-shot set, then fit a logistic-
regression head on its sentence vectors and copy it into the model's linear layer.

The token embeddings stay at their pretrained weights: a few dozen examples touch few of their
rows, and leaving the matrix out of the backward pass and the optimizer makes each step cheaper.
``frozen_layers`` keeps the lowest transformer layers as they are too. After tuning,
``keep_pretrained`` moves every tuned weight that share of the way back to its pretrained value:
one encoder that sits between the pretrained and the tuned one.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from bizlm.batching import PaddingCollator
from bizlm.errors import RecipeError
from bizlm.inference import tokenize
from bizlm.methods.selection import encoder_layer_prefixes, freeze_except
from bizlm.progress import Reporter
from bizlm.prompting.config import FewShotConfig
from bizlm.prompting.contrastive import batch_loss, label_batches
from bizlm.prompting.encoding import embed_texts, set_head
from bizlm.prompting.steps import run_epochs
from bizlm.sentence_model import SentenceClassifier
from bizlm.tasks import Examples
from bizlm.training.loop import LoopResult


def tuned_parameter_names(encoder: torch.nn.Module, frozen_layers: int) -> set[str]:
    """Names of the encoder's parameters from its first tuned layer on, in registration order
    (which puts the embeddings before the layers): the embeddings and the lowest
    ``frozen_layers`` layers are left out."""
    layers = encoder_layer_prefixes(encoder)
    if frozen_layers >= len(layers):
        raise RecipeError(
            f"method.frozen_layers is {frozen_layers} but the backbone has {len(layers)} "
            "layers, so nothing would be tuned.",
            hint=f"Use a value from 0 to {len(layers) - 1}.",
        )
    names = [name for name, _ in encoder.named_parameters()]
    first = next(i for i, name in enumerate(names) if name.startswith(f"{layers[frozen_layers]}."))
    return set(names[first:])


def tune_encoder(
    model: SentenceClassifier,
    tokenizer: object,
    examples: Examples,
    train: object,
    config: FewShotConfig,
    reporter: Reporter,
) -> LoopResult:
    """``train.epochs`` passes of ``config.loss`` training over label-mixing batches, updating
    the layers above the embeddings and the ``config.frozen_layers`` lowest layers; then
    ``config.keep_pretrained`` of each tuned weight is taken back from the pretrained one."""
    targets = [str(t) for t in examples.targets]
    label_ids = {label: i for i, label in enumerate(sorted(set(targets)))}
    features = tokenize(tokenizer, examples.texts, train.max_length)
    collate = PaddingCollator(int(tokenizer.pad_token_id or 0))
    generator = np.random.default_rng(train.seed)
    epochs = [
        label_batches(targets, train.batch_size, config.per_label_in_batch, generator)
        for _ in range(train.epochs)
    ]

    def backward(batch: list[int]) -> float:
        inputs = collate([features[i] for i in batch])
        ids = torch.tensor([label_ids[targets[i]] for i in batch])
        loss = batch_loss(config.loss, model.embed(**inputs), ids, config.temperature)
        loss.backward()
        return float(loss.detach())

    tuned = tuned_parameter_names(model.encoder, config.frozen_layers)
    pretrained = {
        name: parameter.detach().clone()
        for name, parameter in model.encoder.named_parameters()
        if name in tuned and config.keep_pretrained
    }
    freeze_except(model.encoder, tuned.__contains__)  # no gradients below the tuned layers
    parameters = [p for p in model.encoder.parameters() if p.requires_grad]
    try:
        result = run_epochs(
            model,
            parameters,
            train,
            epochs,
            backward,
            reporter,
            "contrastive tuning",
            f"{config.loss}_loss",
        )
    finally:
        model.encoder.requires_grad_(True)
    started = time.perf_counter()
    mix_in_pretrained(model.encoder, pretrained, config.keep_pretrained)
    result.train_seconds += time.perf_counter() - started
    return result


def mix_in_pretrained(
    encoder: torch.nn.Module, pretrained: dict[str, torch.Tensor], share: float
) -> None:
    """Move each parameter named in ``pretrained`` ``share`` of the way back to that value:
    ``(1 - share) * tuned + share * pretrained``."""
    with torch.no_grad():
        for name, parameter in encoder.named_parameters():
            if name in pretrained:
                parameter.lerp_(pretrained[name], share)


def fit_head(
    model: SentenceClassifier,
    tokenizer: object,
    examples: Examples,
    labels: list[str],
    max_length: int,
    c: float,
    seed: int,
) -> None:
    """Logistic regression on the examples' sentence vectors, copied into the linear layer."""
    vectors = embed_texts(model, tokenizer, examples.texts, max_length)
    index = {label: i for i, label in enumerate(labels)}
    gold = np.array([index[str(t)] for t in examples.targets])
    head = LogisticRegression(C=c, max_iter=1000, random_state=seed).fit(vectors, gold)
    weight = np.zeros((len(labels), vectors.shape[1]), dtype=np.float32)
    bias = np.zeros(len(labels), dtype=np.float32)
    classes = [int(c) for c in head.classes_]
    if len(classes) == 2:  # sklearn keeps one row: logit(second) - logit(first)
        weight[classes[1]], bias[classes[1]] = head.coef_[0], head.intercept_[0]
    else:
        weight[classes], bias[classes] = head.coef_, head.intercept_
    absent = [labels[i] for i in range(len(labels)) if i not in classes]
    bias[[index[label] for label in absent]] = -1e4  # a label with no example is never chosen
    set_head(model, weight, bias)
