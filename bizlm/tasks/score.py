"""``score``: a number per text or text pair — regression, matching, relevance and ranking.

A cross-encoder: with ``task.text_pair_column`` both texts go through the encoder together
(``[CLS] text [SEP] pair [SEP]``) and one linear output gives the score. With
``task.group_column`` (a user or a query) the data is split by group, so no group leaks from
training into evaluation, and ranking metrics (NDCG@k, MRR, AUC) are reported per group.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from bizlm.batching import Features
from bizlm.data.splits import stratified_split
from bizlm.errors import DataError
from bizlm.inference import batched_logits
from bizlm.long_text import encode_texts
from bizlm.metrics.tasks import ranking_metrics, regression_metrics
from bizlm.predictor import Predictor, ScorePredictor
from bizlm.tasks.base import Evaluator, Examples, LossFunction, SplitIndices, Task
from bizlm.tasks.rows import read_rows

SCORE_LABELS = ["score"]
_STRATA_BINS = 5


class ScoreTask(Task):
    """Regression head (one output), MSE or Huber loss; Spearman picks the checkpoint."""

    auto_model = AutoModelForSequenceClassification
    primary_metric = "spearman"
    validation_metrics = ("loss", "pearson", "spearman")

    def read(self, path: Path, encoding: str, summary: dict[str, Any]) -> Examples:
        """Rows with a text, a numeric target and, when named, a text pair and a group."""
        rows, examples = read_rows(path, encoding, self.config, summary)
        targets = []
        for value, line in zip(rows.labels, rows.line_numbers, strict=True):
            try:
                number = float(str(value))
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise DataError(
                    f"{path} line {line}: '{self.config.label_column}' is {value!r}, "
                    "not a finite number.",
                    hint="A score task predicts a number: fix the value or remove the row.",
                )
            targets.append(number)
        examples.targets = targets
        return examples

    def strata(self, examples: Examples) -> list[str]:
        """Quantile bins of the target, so every split spans the whole range."""
        values = np.asarray(examples.targets, dtype=float)
        edges = np.quantile(values, np.linspace(0, 1, _STRATA_BINS + 1)[1:-1])
        return [str(int(b)) for b in np.searchsorted(edges, values, side="right")]

    def split(self, examples: Examples, fractions: dict[str, float], seed: int) -> SplitIndices:
        """By group when a group column is set (whole groups go to one split), else by row."""
        groups = examples.column("group")
        if groups is None:
            return super().split(examples, fractions, seed)
        names = sorted(set(groups))
        by_group = stratified_split([""] * len(names), fractions, seed)
        part_of = {names[i]: part for part, indices in by_group.items() for i in indices}
        parts: SplitIndices = {part: [] for part in fractions}
        for index, group in enumerate(groups):
            parts[part_of[group]].append(index)
        return parts

    def label_space(self, splits: dict[str, Examples]) -> list[str]:
        """One output named ``score``."""
        return SCORE_LABELS

    def describe_labels(self, splits: dict[str, Examples], labels: list[str]) -> dict[str, Any]:
        """Range and mean of the target in every split."""
        return {
            name: {
                "min": float(np.min(e.targets)),
                "mean": float(np.mean(e.targets)),
                "max": float(np.max(e.targets)),
            }
            for name, e in splits.items()
            if len(e)
        }

    def model_options(self, labels: list[str]) -> dict[str, Any]:
        """One regression output."""
        return {**super().model_options(SCORE_LABELS), "problem_type": "regression"}

    def features(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int
    ) -> list[Features]:
        """Token ids of the text (and pair), long ones fitted by ``task.long_inputs`` (truncate
        or head_tail), plus the target."""
        pairs = examples.column("text_pair")
        encoded = encode_texts(tokenizer, examples.texts, max_length, pairs, self.long_inputs)
        for feature, owner in zip(encoded.features, encoded.owners, strict=True):
            feature["labels"] = float(examples.targets[owner])
        return encoded.features

    def loss_function(self) -> LossFunction | None:
        """Huber loss when the recipe asks for it; otherwise the model's own MSE."""
        if self.config.loss != "huber":
            return None

        def huber(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            predicted = model(**inputs).logits.squeeze(-1)
            return torch.nn.functional.huber_loss(predicted, batch["labels"].float())

        return huber

    def evaluator(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int, batch: int
    ) -> Evaluator:
        """MSE (as ``loss``), Pearson and Spearman on validation."""
        features = self.features(tokenizer, examples, labels, max_length)
        pad_id = int(tokenizer.pad_token_id or 0)

        def evaluate(model: torch.nn.Module) -> dict[str, float]:
            predicted = batched_logits(model, features, pad_id, batch)[:, 0]
            scores = regression_metrics(examples.targets, predicted.tolist())
            return {
                "loss": scores["mse"],
                "pearson": scores["pearson"],
                "spearman": scores["spearman"],
            }

        return evaluate

    def predictor_class(self) -> type[Predictor]:
        """A number per text or pair."""
        return ScorePredictor

    def score(self, predictor: Predictor, examples: Examples) -> dict[str, Any]:
        """Regression metrics, plus ranking metrics per group when groups are given."""
        predicted = predictor.predict_proba(examples.texts, pairs=examples.column("text_pair"))
        scores = [float(x) for x in predicted[:, 0]]
        metrics = regression_metrics(examples.targets, scores)
        groups = examples.column("group")
        if groups is not None:
            metrics.update(ranking_metrics(examples.targets, scores, groups))
        return metrics
