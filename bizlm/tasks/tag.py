"""``tag``: a label per word — named-entity recognition in BIO, English words or Chinese characters.

Input files are CoNLL-style (``token<TAB>tag``, BIO/BIOES/BMES) or JSONL with tokens and tags
or with character spans; everything becomes BIO over words. The model's labels are ``O`` plus
``B-``/``I-`` for every entity type. Metrics are entity-level (seqeval, strict).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForTokenClassification

from bizlm.batching import Features
from bizlm.data.tagged import read_tagged
from bizlm.data.tags import bio_to_spans
from bizlm.errors import DataError
from bizlm.inference import evaluation_mode, softmax, torch_forward
from bizlm.metrics.tasks import entity_metrics
from bizlm.predictor import Predictor
from bizlm.tasks.base import Evaluator, Examples, Task
from bizlm.tasks.rows import record_file, warn
from bizlm.tasks.tag_decoding import decode
from bizlm.tasks.tag_predictor import TagPredictor
from bizlm.tasks.tag_prior import count_prior, prior_to_json, tune_prior
from bizlm.tasks.tag_windows import IGNORED, encode_windows, training_features, word_logits


def entity_types(tags: list[str]) -> list[str]:
    """The entity types that BIO tags mention, in first-seen order."""
    return list(dict.fromkeys(tag[2:] for tag in tags if tag != "O"))


class TagTask(Task):
    """Token classification head; entity F1 picks the checkpoint."""

    auto_model = AutoModelForTokenClassification
    label_padding = IGNORED
    primary_metric = "f1"
    validation_metrics = ("loss", "f1")

    def read(self, path: Path, encoding: str, summary: dict[str, Any]) -> Examples:
        """Sentences of words with BIO tags, from a CoNLL-style or JSONL file."""
        config = self.config
        sentences = read_tagged(
            path,
            encoding=encoding,
            mode=config.tag_repair,
            text_column=config.text_column,
            spans_column=config.spans_column,
            tokens_column=config.tokens_column,
            tags_column=config.tags_column,
        )
        record_file(path, summary, len(sentences), len(sentences), sentences.skipped)
        if sentences.repairs:
            warn(
                summary,
                f"Repaired {sentences.repairs} I- tags in {path} that followed no entity "
                "(they now start one).",
            )
        dropped = sum(len(lines) for lines in sentences.skipped.values())
        if dropped:
            warn(summary, f"Skipped {dropped} sentences in {path}: {sentences.skipped}.")
        return Examples(
            texts=sentences.texts,
            targets=sentences.tags,
            line_numbers=sentences.line_numbers,
            extras={"words": sentences.tokens, "offsets": sentences.offsets},
        )

    def strata(self, examples: Examples) -> list[str]:
        """Stratify on the first entity type of each sentence (none: its own group)."""
        return [(entity_types(tags) or [""])[0] for tags in examples.targets]

    def label_space(self, splits: dict[str, Examples]) -> list[str]:
        """``O`` then ``B-``/``I-`` of each type (``task.labels`` or the training types, sorted)."""
        seen = sorted({t for tags in splits["train"].targets for t in entity_types(tags)})
        types = list(self.config.labels) if self.config.labels else seen
        if not types:
            raise DataError(
                "The training data holds no entity at all (every tag is O).",
                hint="Check the tag column and the file format (token<TAB>tag).",
            )
        labels = ["O"] + [f"{prefix}-{kind}" for kind in types for prefix in ("B", "I")]
        self.check_splits(splits, labels)
        return labels

    def check_labels(self, examples: Examples, labels: list[str], where: str, known: str) -> None:
        """Refuse an entity type outside ``labels``, naming its line."""
        types = set(entity_types(labels))
        for tags, line in zip(examples.targets, examples.line_numbers, strict=True):
            unknown = sorted(set(entity_types(tags)) - types)
            if unknown:
                raise DataError(
                    f"Entity type '{unknown[0]}' in {where} (line {line}) never appears in "
                    f"{known} ({', '.join(sorted(types))}).",
                    hint="Add training examples of it, list it in task.labels, or retag it.",
                )

    def describe_labels(self, splits: dict[str, Examples], labels: list[str]) -> dict[str, Any]:
        """Entities of each type per split."""
        return {
            name: dict(Counter(kind for tags in e.targets for kind, _, _ in bio_to_spans(tags)))
            for name, e in splits.items()
        }

    def _windows(self, tokenizer: Any, examples: Examples, max_length: int):
        return encode_windows(
            tokenizer, examples.extras["words"], max_length, self.config.long_inputs
        )

    def length_note(self, tokenizer: Any, examples: Examples, max_length: int) -> str | None:
        """How many sentences needed several windows, or were cut (with the words lost)."""
        windows = self._windows(tokenizer, examples, max_length)
        if windows.cut_sentences:
            return (
                f"{windows.cut_sentences} of {len(examples)} sentences are longer than "
                f"train.max_length={max_length} tokens and were cut; {windows.words_lost} words "
                "are not tagged. Set task.long_inputs: window to cover them."
            )
        if windows.windowed_sentences:
            return (
                f"{windows.windowed_sentences} of {len(examples)} sentences are longer than "
                f"train.max_length={max_length} tokens and are covered by overlapping windows."
            )
        return None

    def features(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int
    ) -> list[Features]:
        """Windows of words with each word's tag on its first sub-token."""
        index = {label: i for i, label in enumerate(labels)}
        tag_ids = [[index[tag] for tag in tags] for tags in examples.targets]
        return training_features(self._windows(tokenizer, examples, max_length), tag_ids)

    def evaluator(
        self, tokenizer: Any, examples: Examples, labels: list[str], max_length: int, batch: int
    ) -> Evaluator:
        """Word-level cross-entropy (as ``loss``) and strict entity precision/recall/F1."""
        windows = self._windows(tokenizer, examples, max_length)
        index = {label: i for i, label in enumerate(labels)}
        gold_ids = np.concatenate([[index[t] for t in tags] for tags in examples.targets])
        pad_id = int(tokenizer.pad_token_id or 0)

        def evaluate(model: torch.nn.Module) -> dict[str, float]:
            with evaluation_mode(model), torch.inference_mode():
                logits = word_logits(torch_forward(model), windows, pad_id, batch, len(labels))
            probabilities = [softmax(rows) for rows in logits]
            flat = np.concatenate(probabilities)
            loss = float(-np.mean(np.log(flat[np.arange(len(gold_ids)), gold_ids] + 1e-12)))
            predicted = [decode(p, labels) for p in probabilities]
            scores = entity_metrics(examples.targets, predicted)
            return {"loss": loss, **{k: scores[k] for k in ("f1", "precision", "recall")}}

        return evaluate

    def predictor_class(self) -> type[Predictor]:
        """Entity spans per text."""
        return TagPredictor

    def calibrate(
        self, predictor: Predictor, validation: Examples, train: Examples | None
    ) -> dict[str, Any]:
        """The tag prior of the training data, at the weight that tags validation best."""
        assert isinstance(predictor, TagPredictor) and train is not None  # taggers train
        prior = count_prior(train.targets, predictor.labels)
        probabilities = predictor.word_probabilities(validation.extras["words"])
        tuned, scores = tune_prior(prior, probabilities, validation.targets, predictor.labels)
        return {"tag_prior": prior_to_json(tuned, scores)}

    def score(self, predictor: Predictor, examples: Examples) -> dict[str, Any]:
        """Entity-level precision, recall and F1 (overall and per type), token accuracy."""
        assert isinstance(predictor, TagPredictor)
        predicted = predictor.predict_words(examples.extras["words"])
        return entity_metrics(examples.targets, predicted)
