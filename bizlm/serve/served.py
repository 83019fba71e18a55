"""A served model: the loaded version, its micro-batcher, and atomic version swaps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bizlm.bundle import read_bundle_info
from bizlm.explain import explain
from bizlm.predictor import Predictor, load
from bizlm.registry.servable import require_servable
from bizlm.registry.versions import ModelVersion, headline_metrics
from bizlm.serve.batcher import Job, MicroBatcher
from bizlm.serve.errors import ApiError
from bizlm.serve.generation import GenerationWorker
from bizlm.serve.observe import ServerMetrics
from bizlm.serve.settings import ServeSettings

BUNDLE_VERSION = "bundle"
# A micro-batch runs as length-sorted forward passes of at most this many texts: concurrent
# requests have mixed lengths, and smaller sorted passes pad far less than one large pass.
FORWARD_BATCH = 16


@dataclass(frozen=True)
class LoadedModel:
    """One version of a model in memory."""

    predictor: Predictor
    version: str
    stage: str | None = None

    @property
    def generates(self) -> bool:
        """True for a generate bundle: it answers the chat and completion routes, not predict."""
        return self.predictor.info.task_type == "generate"

    def describe(self, name: str) -> dict[str, Any]:
        """Name, version, labels, headline metrics and lineage, for ``GET /v1/models``."""
        info = self.predictor.info
        return {
            "name": name,
            "version": self.version,
            "stage": self.stage,
            "labels": self.predictor.labels,
            "metrics": headline_metrics(info.metrics),
            "created": info.created,
            "backbone": info.backbone_reference,
            "parent": info.parent_bundle,
        }


def load_bundle(path: Path, loaded: Predictor | None = None) -> LoadedModel:
    """A bundle given directly on the command line; ``loaded`` is its predictor if the caller
    has loaded it already (an application that also uses the model), so it is not loaded twice."""
    require_servable(path, read_bundle_info(path))
    return LoadedModel(loaded if loaded is not None else load(path), BUNDLE_VERSION)


def load_version(version: ModelVersion) -> LoadedModel:
    """Load a registered version, refusing a bundle with a file changed, missing or truncated
    since it was registered (the error names the file)."""
    return LoadedModel(version.open(), str(version.version), version.stage)


@dataclass(frozen=True)
class JobResult:
    """What the model answered for one request."""

    version: str
    labels: list[str]
    probabilities: np.ndarray
    explanations: list[dict[str, Any]] | None
    #: the index of each text's predicted label (``Predictor.choose``)
    chosen: np.ndarray


class ServedModel:
    """A model behind the API: requests are micro-batched on the model's own thread."""

    def __init__(
        self, name: str, loaded: LoadedModel, settings: ServeSettings, metrics: ServerMetrics
    ) -> None:
        self.name = name
        self._loaded = loaded
        self.settings = settings
        self.metrics = metrics
        self._generation: GenerationWorker | None = None
        batch_sizes = metrics.batch_size.labels(model=name)
        inference = metrics.inference.labels(model=name)

        def observe(texts: int, seconds: float) -> None:
            batch_sizes.observe(texts)
            inference.observe(seconds)

        self.batcher = MicroBatcher(
            name, self._run, settings.max_batch_size, settings.max_wait_ms / 1000, observe
        )
        metrics.queue_depth.labels(model=name).set_function(self.batcher.depth)

    @property
    def current(self) -> LoadedModel:
        """The version answering requests now."""
        return self._loaded

    def swap(self, loaded: LoadedModel) -> None:
        """Serve ``loaded`` from the next batch on; batches already running finish as they are."""
        self._loaded = loaded

    async def predict(self, texts: list[str], explain_method: str | None = None) -> JobResult:
        """Classify texts (and explain them if asked), or answer 504 past the timeout."""
        if self._loaded.generates:
            raise ApiError(
                400,
                "wrong_route",
                f"Model '{self.name}' generates text; it has no labels to predict. Send its "
                "requests to POST /v1/chat/completions or POST /v1/completions "
                f'with "model": "{self.name}".',
            )
        future = self.batcher.submit(texts, explain_method)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.settings.timeout_s)
        except TimeoutError:
            future.cancel()  # skipped by the worker if its batch has not started
            raise ApiError(
                504,
                "timeout",
                f"No answer within {self.settings.timeout_s:g} s (timeout); retry later.",
            ) from None

    def predict_proba_blocking(self, texts: list[str]) -> np.ndarray:
        """Probabilities for texts through the micro-batcher, waiting in the calling thread."""
        future = self.batcher.submit(texts)
        try:
            return future.result(self.settings.timeout_s).probabilities
        except TimeoutError:
            future.cancel()
            raise

    def generation(self) -> GenerationWorker:
        """The thread that generates text for this model (started on first use)."""
        if self._generation is None:
            self._generation = GenerationWorker(
                self.name, lambda: self._loaded, self.metrics, self.settings.max_batch_size
            )
        return self._generation

    def close(self) -> None:
        """Answer the queued requests, then stop the worker threads."""
        self.batcher.close()
        if self._generation is not None:
            self._generation.close()

    def _run(self, jobs: list[Job]) -> list[JobResult]:
        loaded = self._loaded  # one version for the whole batch, even if a swap happens now
        predictor = loaded.predictor
        texts = [text for job in jobs for text in job.texts]
        probabilities = predictor.predict_proba(texts, batch_size=FORWARD_BATCH)
        chosen = predictor.choose(probabilities)
        results, start = [], 0
        for job in jobs:
            rows = probabilities[start : start + len(job.texts)]
            picks = chosen[start : start + len(job.texts)]
            start += len(job.texts)
            explanations = None
            if job.explain is not None:
                explanations = [
                    explain(predictor, text, job.explain, steps=self.settings.explain_steps)
                    for text in job.texts
                ]
            results.append(JobResult(loaded.version, predictor.labels, rows, explanations, picks))
        return results


class QueuedPredictor:
    """A served model used as a predictor by application code running in worker threads.

    Its ``predict_proba`` queues the texts on the model's micro-batcher, so application calls
    share batches with API requests and never run the model concurrently with them.
    """

    def __init__(self, served: Callable[[], ServedModel]) -> None:
        self._served = served

    def served(self) -> ServedModel:
        """The served model (raises 503 before the server has started)."""
        return self._served()

    @property
    def labels(self) -> list[str]:
        """Labels of the version being served."""
        return list(self.served().current.predictor.labels)

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """One probability row per text; ``batch_size`` is the server's business here."""
        return self.served().predict_proba_blocking(list(texts))
