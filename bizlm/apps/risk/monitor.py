"""The monitor: ingest items, classify what is due, run the rules, deliver alerts.

The same object backs the HTTP service, the drop-folder watcher and ``replay``; its
:meth:`Monitor.step` is what the service's background loop runs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bizlm.apps.risk.alerting import evaluate_rules
from bizlm.apps.risk.classifier import RiskClassifier, classify_due
from bizlm.apps.risk.config import RiskError, RiskFolder
from bizlm.apps.risk.entities import EntityFinder
from bizlm.apps.risk.items import Rejected, check_items
from bizlm.apps.risk.rules import Rule, load_rules
from bizlm.apps.risk.sinks import deliver_due, enqueue, log_alerts
from bizlm.apps.risk.store import ItemStore
from bizlm.loading import load

log = logging.getLogger("bizlm.apps.risk")


@dataclass
class IngestResult:
    """What happened to a batch: stored, already stored (same id), rejected with reasons."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_dict() for r in self.rejected],
        }


@dataclass
class StepResult:
    """What one pass of the background work did."""

    labelled: int = 0
    failed: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    delivery_failures: int = 0


def _load_bundle(folder: RiskFolder, relative: str, role: str) -> Any:
    path = folder.path(relative)
    if not (path / "bizlm.json").is_file():
        raise RiskError(
            f"The {role} model {path} is not a bizlm bundle.",
            hint=f"Train it with `bizlm app risk train {folder.root}` or set {role}_model "
            "in risk.yaml.",
        )
    return load(path)


def load_classifier(folder: RiskFolder) -> RiskClassifier:
    """The topic and sentiment models (and the NER model, when configured) of a folder."""
    config = folder.config
    tagger = None
    if config.entity_model:
        tagger = _load_bundle(folder, config.entity_model, "entity")
    return RiskClassifier(
        _load_bundle(folder, config.topic_model, "topic"),
        _load_bundle(folder, config.sentiment_model, "sentiment"),
        EntityFinder(tagger),
    )


class Monitor:
    """A folder's store, models, rules and sinks."""

    def __init__(self, folder: RiskFolder, classifier: RiskClassifier | None = None) -> None:
        self.folder = folder
        self.classifier = classifier or load_classifier(folder)
        negative = folder.config.negative_label
        if negative not in self.classifier.sentiments:
            raise RiskError(
                f"negative_label '{negative}' is not a label of the sentiment model.",
                hint=f"Set it in risk.yaml to one of {', '.join(self.classifier.sentiments)}.",
            )
        self.rules: list[Rule] = load_rules(folder.rules, self.classifier.topics)
        self.bounds = folder.time_bounds
        self.store = ItemStore(folder.database)
        self._step_lock = threading.Lock()

    @classmethod
    def open(cls, root: Path) -> Monitor:
        """The monitor of a folder made by ``bizlm app risk init``."""
        return cls(RiskFolder.open(root))

    def ingest(self, raws: list[Any]) -> IngestResult:
        """Check and store a batch (idempotent by id); classification happens in :meth:`step`.

        Items whose time is outside the folder's bounds are rejected with the reason."""
        accepted, rejected = check_items(raws, self.bounds)
        added, duplicates = self.store.add(accepted)
        return IngestResult(added, duplicates, rejected)

    def step(self, retry_after_s: float = 30.0) -> StepResult:
        """Classify everything due, run the rules, send new alerts and due webhook retries."""
        config = self.folder.config
        result = StepResult()
        with self._step_lock:
            while True:
                labelled, failed = classify_due(
                    self.store,
                    self.classifier,
                    config.batch_size,
                    config.max_attempts,
                    retry_after_s,
                )
                result.labelled += labelled
                result.failed += failed
                if labelled + failed == 0:
                    break
            result.alerts = evaluate_rules(
                self.store,
                self.rules,
                config.negative_label,
                config.max_windows,
                self.bounds.latest(time.time()),
            )
            if result.alerts:
                if config.log_alerts:
                    log_alerts(result.alerts)
                enqueue(self.store, config.webhooks, result.alerts)
            result.delivered, result.delivery_failures = deliver_due(self.store, config.webhooks)
        return result

    def close(self) -> None:
        """Release the database."""
        self.store.close()
