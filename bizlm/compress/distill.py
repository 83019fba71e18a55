"""``bizlm distill``: train a smaller student on a teacher bundle's soft labels.

The student is the teacher's first N layers (embeddings, layers and head copied from the
teacher) or another backbone. Its loss mixes the KL divergence to the teacher's
temperature-softened distribution (weight ``alpha``, scaled by T², Hinton et al. 2015) with
cross-entropy on the gold labels (weight ``1 - alpha``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
from transformers.modeling_outputs import SequenceClassifierOutput

from bizlm.backbones import resolve_model
from bizlm.bundle import write_bundle
from bizlm.bundle_info import BundleInfo
from bizlm.compress.finetune import labelled_features, train_config
from bizlm.compress.source import WEIGHT_FILES, bundle_data, check_source
from bizlm.errors import BizlmError
from bizlm.inference import softmax
from bizlm.methods import count_parameters
from bizlm.predictor import Predictor, load
from bizlm.progress import Reporter
from bizlm.recipe import load_recipe
from bizlm.tasks import task_from_info
from bizlm.training.documents import headline_metrics, training_record, write_documents
from bizlm.training.loop import chosen_metric, classification_evaluator, train_loop
from bizlm.training.scoring import score_splits


@dataclass(frozen=True)
class DistillOptions:
    """How to build and train the student."""

    student_layers: int | None = None
    student: str | None = None
    epochs: int = 3
    temperature: float = 2.0
    alpha: float = 0.5
    learning_rate: float = 1e-4
    batch_size: int | None = None


class DistillationModel(nn.Module):
    """Wraps the student so ``train_loop`` sees one loss: ``labels`` rows are the teacher's
    softened probabilities followed by the gold label index."""

    def __init__(self, student: nn.Module, temperature: float, alpha: float) -> None:
        super().__init__()
        self.student = student
        self.temperature = temperature
        self.alpha = alpha

    def forward(self, labels: torch.Tensor | None = None, **inputs: torch.Tensor):
        logits = self.student(**inputs).logits
        loss = None
        if labels is not None:
            soft, hard = labels[:, :-1].float(), labels[:, -1].long()
            t = self.temperature
            log_student = F.log_softmax(logits / t, dim=-1)
            kl = F.kl_div(log_student, soft, reduction="batchmean") * t * t
            loss = self.alpha * kl + (1 - self.alpha) * F.cross_entropy(logits, hard)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def soft_targets(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The teacher's distribution at ``temperature``: softmax(log p / T)."""
    return softmax(np.log(np.clip(probabilities, 1e-12, None)) / temperature)


def distill(
    teacher: str | Path,
    output: str | Path,
    options: DistillOptions,
    reporter: Reporter | None = None,
) -> Path:
    """Train the student, evaluate it like ``bizlm train`` does and write its bundle."""
    reporter = reporter or Reporter()
    teacher_path, output = Path(teacher), Path(output)
    _check(options)
    teacher_predictor = load(teacher_path)
    info = teacher_predictor.info
    data = bundle_data(info)
    labels = list(info.labels)
    reference, location, student, tokenizer = _student(teacher_path, info, options)
    config = train_config(
        info.train_settings,
        epochs=options.epochs,
        learning_rate=options.learning_rate,
        early_stopping_patience=info.train_settings.get("early_stopping_patience"),
        **({"batch_size": options.batch_size} if options.batch_size else {}),
    )
    reporter.note(f"teacher soft labels for {len(data.splits['train'].texts):,} texts")
    train_rows = data.splits["train"]
    soft = soft_targets(teacher_predictor.predict_proba(train_rows.texts), options.temperature)
    train = labelled_features(tokenizer, train_rows, labels, config.max_length)
    for feature, row in zip(train, soft, strict=True):
        feature["labels"] = [*row.tolist(), float(feature["labels"])]
    validation = labelled_features(tokenizer, data.splits["validation"], labels, config.max_length)
    wrapper = DistillationModel(student, options.temperature, options.alpha)
    pad_id = int(tokenizer.pad_token_id or 0)
    evaluate = classification_evaluator(
        validation, [f["labels"] for f in validation], pad_id, config.eval_batch_size
    )
    loop = train_loop(
        wrapper, train, evaluate, pad_id, config, reporter, chosen_metric(config, "macro_f1")
    )
    student = wrapper.student.eval()
    predictor = Predictor(student, tokenizer, labels, config.max_length)
    metrics = score_splits(task_from_info(info), predictor, data)
    recipe = dict(info.recipe, model=reference, method={"name": "full"}, output=str(output))
    recipe["train"] = config.model_dump(mode="json")
    trainable, total = count_parameters(student)
    bundle_info = BundleInfo(
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        task=info.task,
        labels=labels,
        recipe=load_recipe(recipe).resolved(),
        backbone={"reference": reference, "location": location},
        parent=str(teacher_path),
        merged=True,
        data=info.data,
        metrics=headline_metrics(metrics),
        training=training_record(loop, trainable, total),
        distillation={
            "teacher": str(teacher_path),
            "teacher_metrics": {k: info.metrics.get(k) for k in ("accuracy", "macro_f1")},
            "student_layers": int(student.config.num_hidden_layers),
            "temperature": options.temperature,
            "alpha": options.alpha,
        },
    )

    def write_contents(staging: Path) -> None:
        student.save_pretrained(staging / "model")
        tokenizer.save_pretrained(staging / "model")
        write_documents(staging, bundle_info, data, output.name)

    write_bundle(output, bundle_info, write_contents)
    return output


def _check(options: DistillOptions) -> None:
    if options.student_layers is None and options.student is None:
        raise BizlmError(
            "Say how small the student is: --student-layers N, --student MODEL_REF, or both."
        )
    if options.student_layers is not None and options.student_layers < 1:
        raise BizlmError("--student-layers must be at least 1.")
    if options.temperature <= 0 or not 0 <= options.alpha <= 1:
        raise BizlmError("--temperature must be positive and --alpha between 0 and 1.")


def _student(
    teacher: Path, info: BundleInfo, options: DistillOptions
) -> tuple[str, str, nn.Module, Any]:
    """(recipe reference, location, model, tokenizer) of the untrained student."""
    labels = list(info.labels)
    if options.student is not None:
        reference = options.student
        location = resolve_model(reference)
        extra = {
            "id2label": dict(enumerate(labels)),
            "label2id": {n: i for i, n in enumerate(labels)},
        }
        extra["num_labels"] = len(labels)
    else:
        check_source(teacher, info, "none")
        has_weights = any((teacher / "model" / name).is_file() for name in WEIGHT_FILES)
        if info.runtime != "transformers" or not has_weights:
            raise BizlmError(
                f"Teacher '{teacher}' has no plain PyTorch weights to take layers from "
                f"(runtime {info.runtime}).",
                hint="Pass --student MODEL_REF, or distil from the bundle it was exported from.",
            )
        reference = location = str(teacher / "model")
        extra = {}
    if options.student_layers is not None:
        extra["num_hidden_layers"] = options.student_layers
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # unused teacher layers are expected
    try:
        model = AutoModelForSequenceClassification.from_pretrained(location, **extra)
    finally:
        transformers.logging.set_verbosity(verbosity)
    teacher_layers = _layers(teacher)
    if options.student is None and model.config.num_hidden_layers >= teacher_layers:
        raise BizlmError(
            f"--student-layers {options.student_layers} is not fewer than the teacher's "
            f"{teacher_layers} layers.",
            hint=f"Use --student-layers {max(1, teacher_layers // 2)}.",
        )
    tokenizer = AutoTokenizer.from_pretrained(location)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return reference, location, model, tokenizer


def _layers(teacher: Path) -> int:
    return int(AutoConfig.from_pretrained(teacher / "model").num_hidden_layers)
