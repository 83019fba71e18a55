"""``classify``: one label per text (softmax head), or several (``multi_label``, sigmoid head)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from bizlm.batching import Features
from bizlm.data.splits import unseen_labels
from bizlm.decision import choose, threshold_of, tune_threshold
from bizlm.errors import DataError
from bizlm.inference import batched_logits, sigmoid
from bizlm.long_text import MAX_TRAINING_WINDOWS, Encoded, encode_texts, window_logits
from bizlm.losses import cross_entropy_loss
from bizlm.metrics.classification import classification_metrics, classification_scores
from bizlm.metrics.tasks import multilabel_metrics, tune_thresholds
from bizlm.predictor import MultiLabelPredictor, Predictor
from bizlm.tasks.base import Evaluator, Examples, LossFunction, Task
from bizlm.tasks.rows import read_rows


class _TextClassification(Task):
    """What single- and multi-label classification share: rows, pairs, features."""

    auto_model = AutoModelForSequenceClassification

    def read(self, path: Path, encoding: str, summary: dict[str, Any]) -> Examples:
        """Rows with a text and a label (and a ``text_pair`` when the task names one)."""
        return read_rows(path, encoding, self.config, summary)[1]

    def _encode(
        self, tokenizer: Any, examples: Examples, max_length: int, training: bool
    ) -> Encoded:
        """Model inputs as ``task.long_inputs`` says; training caps the windows per text."""
        return encode_texts(
            tokenizer,
            examples.texts,
            max_length,
            examples.column("text_pair"),
            self.long_inputs,
            MAX_TRAINING_WINDOWS if training else None,
        )

    def check_labels(self, examples: Examples, labels: list[str], where: str, known: str) -> None:
        """Refuse a label outside ``labels``, naming its line."""
        for targets, line in zip(examples.targets, examples.line_numbers, strict=True):
            unknown = unseen_labels(labels, self._as_list(targets))
            if unknown:
                raise DataError(
                    f"Label '{unknown[0]}' in {where} (line {line}) never appears in {known}"
                    f" ({', '.join(labels)}).",
                    hint="Add examples of it to the training file, list it in task.labels, "
                    "or remove those rows.",
                )

    @staticmethod
    def _as_list(target: Any) -> list[str]:
        return list(target) if isinstance(target, list) else [str(target)]

    def describe_labels(self, splits: dict[str, Examples], labels: list[str]) -> dict[str, Any]:
        """How many examples of each label every split holds."""
        distribution = {}
        for name, examples in splits.items():
            counts = Counter(x for t in examples.targets for x in self._as_list(t))
            distribution[name] = {label: counts.get(label, 0) for label in labels}
        return distribution


class ClassifyTask(_TextClassification):
    """One label per text: softmax head, cross-entropy loss, macro-F1 picks the checkpoint."""

    primary_metric = "macro_f1"
    validation_metrics = ("loss", "accuracy", "macro_f1")

    def strata(self, examples: Examples) -> list[str]:
        """Stratify splits on the label."""
        return [str(target) for target in examples.targets]

    def label_space(self, splits: dict[str, Examples]) -> list[str]:
        """``task.labels``, or the sorted labels of the training split (at least two).

        A training split with one label is accepted only when ``task.labels`` declares the
        label list: the first stage of a class-incremental stream (``bizlm update`` adds the
        next labels) may know one label.
        """
        train = splits.get("train")  # none for a zero-shot model, whose labels are declared
        seen = sorted({str(t) for t in train.targets}) if train is not None else []
        labels = list(self.config.labels) if self.config.labels else seen
        self.check_splits(splits, labels)
        if len(seen) < 2 and not self.config.labels:
            raise DataError(
                f"The training data has only {len(seen)} distinct label(s).",
                hint="A classifier needs examples of at least two labels (the first stage of a "
                "class-incremental stream may declare its one label in task.labels).",
            )
        return labels

    def features(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int
    ) -> list[Features]:
        """Token ids plus the label's index (each window of a long text carries its label)."""
        index = {label: i for i, label in enumerate(labels)}
        encoded = self._encode(tokenizer, examples, max_length, training=True)
        for feature, owner in zip(encoded.features, encoded.owners, strict=True):
            feature["labels"] = index[str(examples.targets[owner])]
        return encoded.features

    def evaluator(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int, batch: int
    ) -> Evaluator:
        """Loss, accuracy and macro-F1 on validation (per text: windows are averaged)."""
        encoded = self._encode(tokenizer, examples, max_length, training=False)
        index = {label: i for i, label in enumerate(labels)}
        gold = [index[str(target)] for target in examples.targets]
        pad_id = int(tokenizer.pad_token_id or 0)

        def evaluate(model: torch.nn.Module) -> dict[str, float]:
            logits = batched_logits(model, encoded.features, pad_id, batch)
            return classification_scores(window_logits(logits, encoded.owners, len(gold)), gold)

        return evaluate

    def loss_function(self) -> LossFunction | None:
        """Cross-entropy, also for a head of one declared label (where transformers' own loss
        would be a regression)."""
        return cross_entropy_loss()

    def predictor_class(self) -> type[Predictor]:
        """Label with probabilities."""
        return Predictor

    def calibrate(
        self, predictor: Predictor, validation: Examples, train: Examples | None
    ) -> dict[str, Any]:
        """For two labels, the threshold on the second label's probability that maximises
        validation macro-F1, kept when it beats the most probable label (``bizlm.decision``)."""
        if len(predictor.labels) != 2:
            return {}
        probabilities = predictor.predict_proba(
            validation.texts, pairs=validation.column("text_pair")
        )
        gold = [predictor.labels.index(str(t)) for t in validation.targets]
        return {"decision_threshold": tune_threshold(gold, probabilities, predictor.labels)}

    def score(self, predictor: Predictor, examples: Examples) -> dict[str, Any]:
        """Accuracy, F1s, per-class scores, confusion matrix and calibration, of the labels
        the predictor chooses (its decision threshold, when it keeps one)."""
        probabilities = predictor.predict_proba(examples.texts, pairs=examples.column("text_pair"))
        gold = [predictor.labels.index(str(t)) for t in examples.targets]
        info = getattr(predictor, "info", None)  # baseline predictors keep no bundle info
        threshold = threshold_of(info.calibration if info else {}, predictor.labels)
        predicted = choose(probabilities, threshold)
        return classification_metrics(gold, probabilities, predictor.labels, predicted)


class MultiLabelTask(_TextClassification):
    """Any number of labels per text: sigmoid head, per-label thresholds tuned on validation."""

    primary_metric = "micro_f1"
    validation_metrics = ("loss", "micro_f1", "macro_f1")

    def read(self, path: Path, encoding: str, summary: dict[str, Any]) -> Examples:
        """Rows whose label cell is a list, or one string of labels split on the delimiter."""
        rows, examples = read_rows(path, encoding, self.config, summary)
        label_column = self.config.label_column
        examples.targets = [self._parse(row.get(label_column)) for row in rows.rows]
        return examples

    def _parse(self, cell: Any) -> list[str]:
        values = cell if isinstance(cell, list) else str(cell).split(self.config.label_delimiter)
        return sorted({str(v).strip() for v in values if str(v).strip()})

    def strata(self, examples: Examples) -> list[str]:
        """Stratify on each text's first label (texts with none form their own group)."""
        return [targets[0] if targets else "" for targets in examples.targets]

    def label_space(self, splits: dict[str, Examples]) -> list[str]:
        """``task.labels``, or every label seen in training, sorted."""
        seen = sorted({x for targets in splits["train"].targets for x in targets})
        labels = list(self.config.labels) if self.config.labels else seen
        if not labels:
            raise DataError(
                "The training data carries no labels at all.",
                hint=f"Check task.label_column and task.label_delimiter "
                f"('{self.config.label_delimiter}').",
            )
        self.check_splits(splits, labels)
        return labels

    def model_options(self, labels: list[str]) -> dict[str, Any]:
        """A sigmoid head: one independent yes/no output per label."""
        return {**super().model_options(labels), "problem_type": "multi_label_classification"}

    def features(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int
    ) -> list[Features]:
        """Token ids plus a 0/1 vector over the labels."""
        encoded = self._encode(tokenizer, examples, max_length, training=True)
        for feature, owner in zip(encoded.features, encoded.owners, strict=True):
            feature["labels"] = [float(label in examples.targets[owner]) for label in labels]
        return encoded.features

    def evaluator(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int, batch: int
    ) -> Evaluator:
        """Binary cross-entropy, micro/macro-F1 and subset accuracy at threshold 0.5."""
        features = self.features(tokenizer, examples, labels, max_length)
        gold = np.asarray([f["labels"] for f in features])
        pad_id = int(tokenizer.pad_token_id or 0)

        def evaluate(model: torch.nn.Module) -> dict[str, float]:
            logits = batched_logits(model, features, pad_id, batch)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                torch.from_numpy(logits), torch.from_numpy(gold).float()
            )
            scores = multilabel_metrics(gold, sigmoid(logits), labels, [0.5] * len(labels))
            keys = ("micro_f1", "macro_f1", "subset_accuracy")
            return {"loss": float(loss), **{k: scores[k] for k in keys}}

        return evaluate

    def predictor_class(self) -> type[Predictor]:
        """Labels above their thresholds, with probabilities."""
        return MultiLabelPredictor

    def calibrate(
        self, predictor: Predictor, validation: Examples, train: Examples | None
    ) -> dict[str, Any]:
        """Per-label thresholds that maximise each label's F1 on validation."""
        probabilities = predictor.predict_proba(
            validation.texts, pairs=validation.column("text_pair")
        )
        gold = self._multi_hot(validation, predictor.labels)
        return {"thresholds": [float(t) for t in tune_thresholds(gold, probabilities)]}

    def score(self, predictor: Predictor, examples: Examples) -> dict[str, Any]:
        """Micro/macro-F1, subset accuracy and per-label scores at the tuned thresholds."""
        probabilities = predictor.predict_proba(examples.texts, pairs=examples.column("text_pair"))
        gold = self._multi_hot(examples, predictor.labels)
        thresholds = getattr(predictor, "thresholds", [0.5] * len(predictor.labels))
        return multilabel_metrics(gold, probabilities, predictor.labels, thresholds)

    @staticmethod
    def _multi_hot(examples: Examples, labels: list[str]) -> np.ndarray:
        return np.asarray([[float(x in t) for x in labels] for t in examples.targets])
