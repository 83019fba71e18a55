"""Label items with the topic and sentiment models (and entities), in batches.

A batch that fails is split: each item is tried alone, so one bad item is kept with its error
(for a later retry) and the others are labelled as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from bizlm.apps.risk.entities import EntityFinder
from bizlm.apps.risk.store import ItemStore, Labels

log = logging.getLogger("bizlm.apps.risk")
FORWARD_BATCH = 32


class RiskClassifier:
    """Topic and sentiment predictors (any single-label bizlm bundles) plus an entity finder."""

    def __init__(self, topic: Any, sentiment: Any, entities: EntityFinder | None = None) -> None:
        self.topic = topic
        self.sentiment = sentiment
        self.entities = entities or EntityFinder()

    @property
    def topics(self) -> list[str]:
        """The topic model's labels."""
        return list(self.topic.labels)

    @property
    def sentiments(self) -> list[str]:
        """The sentiment model's labels."""
        return list(self.sentiment.labels)

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        """Labels for each text, in order."""
        texts = list(texts)
        topic_p = self.topic.predict_proba(texts, batch_size=FORWARD_BATCH)
        sentiment_p = self.sentiment.predict_proba(texts, batch_size=FORWARD_BATCH)
        found = self.entities.find(texts)
        topics, sentiments = self.topics, self.sentiments
        return [
            Labels(
                topic=topics[int(np.argmax(t))],
                topic_score=float(np.max(t)),
                sentiment=sentiments[int(np.argmax(s))],
                sentiment_score=float(np.max(s)),
                entities=names,
            )
            for t, s, names in zip(topic_p, sentiment_p, found, strict=True)
        ]


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def label_batch(
    classifier: RiskClassifier, batch: list[tuple[str, str]]
) -> tuple[dict[str, Labels], dict[str, str]]:
    """(labels by id, errors by id) for (id, text) pairs; a failing batch is retried per item."""
    try:
        labels = classifier.classify([text for _, text in batch])
        return {item_id: label for (item_id, _), label in zip(batch, labels, strict=True)}, {}
    except Exception as exc:  # any model failure: isolate the items that cause it
        log.warning("a batch of %d items failed (%s); retrying one by one", len(batch), exc)
    labelled: dict[str, Labels] = {}
    errors: dict[str, str] = {}
    for item_id, text in batch:
        try:
            labelled[item_id] = classifier.classify([text])[0]
        except Exception as exc:  # kept with its error, retried on a later pass
            errors[item_id] = _error_text(exc)
    return labelled, errors


def classify_due(
    store: ItemStore,
    classifier: RiskClassifier,
    batch_size: int,
    max_attempts: int,
    retry_after_s: float = 30.0,
) -> tuple[int, int]:
    """Classify one batch of due items; returns (labelled, failed)."""
    batch = store.due(batch_size, max_attempts, retry_after_s)
    if not batch:
        return 0, 0
    labelled, errors = label_batch(classifier, batch)
    store.save_labels(labelled)
    if errors:
        store.save_failures(errors)
        log.warning("%d items failed classification and will be retried", len(errors))
    return len(labelled), len(errors)
