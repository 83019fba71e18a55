"""The MLflow tracker: one MLflow run a training run, with a local store to fall back on.

The local store is ``sqlite:///$BIZLM_HOME/mlruns/mlflow.db`` (MLflow's file store is frozen, so
a database it is), its artifacts under ``$BIZLM_HOME/mlruns/artifacts/``. When the configured
store cannot be reached, at the start or later, the tracker warns once on the ``bizlm`` logger and
continues in the local store, replaying what it had logged, so training never stops for it.
HTTP stores get short timeouts and one retry unless ``MLFLOW_HTTP_REQUEST_*`` says otherwise.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from bizlm.log import logger
from bizlm.paths import bizlm_home
from bizlm.training.tracker_base import DOCUMENTS, Tracker

#: defaults that make an unreachable HTTP store fail in seconds, not minutes of retries
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
PARAM_BATCH, METRIC_BATCH, PARAM_LENGTH = 100, 1000, 6000


def local_store() -> str:
    """The tracking URI of the local store (its folder is created)."""
    folder = bizlm_home() / "mlruns"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def tracking_uri(configured: str | None) -> str:
    """The store to log to: the recipe's URI, else ``$MLFLOW_TRACKING_URI``, else the local one."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or local_store()


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a SQLite store, else the server picks."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///")).resolve()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", experiment).strip("-") or "experiment"
    return (database.parent / "artifacts" / slug).as_uri()


class MlflowTracker(Tracker):
    """Logs to one MLflow run; falls back to the local store if the configured one fails."""

    def __init__(
        self,
        uri: str | None,
        experiment: str,
        run_name: str,
        tags: dict[str, str],
        log_model: bool = False,
    ) -> None:
        self.experiment, self.run_name, self.tags = experiment, run_name, tags
        self.log_model = log_model
        self.params: dict[str, str] = {}
        self.metrics: list[tuple[int, dict[str, float], int]] = []
        self.uri = tracking_uri(uri)
        self.client: Any = None
        self.run_id: str | None = None
        try:
            self._start(self.uri)
        except Exception as exc:
            self._fall_back(exc)

    def _start(self, uri: str) -> None:
        if uri.startswith(("http://", "https://")):
            for name, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(name, value)
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)  # table creation
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(self.experiment)
        experiment_id = (
            found.experiment_id
            if found is not None
            else client.create_experiment(self.experiment, artifact_location(uri, self.experiment))
        )
        run = client.create_run(experiment_id, run_name=self.run_name, tags=self.tags)
        self.client, self.run_id, self.uri = client, run.info.run_id, uri

    def _fall_back(self, exc: Exception) -> None:
        """Move to the local store and replay; if the local store fails too, stop logging."""
        local = local_store()
        self.client = self.run_id = None
        if self.uri == local:
            logger.warning(
                "MLflow logging stopped: the local store %s failed (%s); training goes on.",
                local,
                _reason(exc),
            )
            return
        logger.warning(
            "MLflow store %s cannot be reached (%s); logging this run to the local store %s "
            "instead (`bizlm runs list` shows it).",
            self.uri,
            _reason(exc),
            local,
        )
        self.uri = local
        try:
            self._start(local)
            self._send_params(self.params)
            for step, metrics, stamp in self.metrics:
                self._send_metrics(step, metrics, stamp)
        except Exception as again:
            self._fall_back(again)

    def _guard(self, action: Any, retry: bool = False) -> None:
        """Run ``action``; on failure fall back (params and metrics are replayed there), and
        with ``retry`` run it again in the local store."""
        if self.client is None:
            return
        try:
            action()
        except Exception as exc:
            self._fall_back(exc)
            if retry:
                self._guard(action, retry)

    def log_params(self, params: dict[str, Any]) -> None:
        """Log flat params (values cut to MLflow's 6000 characters)."""
        text = {key: str(value)[:PARAM_LENGTH] for key, value in params.items()}
        self.params.update(text)
        self._guard(lambda: self._send_params(text))

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """Log numbers at ``step``."""
        stamp = int(time.time() * 1000)
        self.metrics.append((step, dict(metrics), stamp))
        self._guard(lambda: self._send_metrics(step, metrics, stamp))

    def log_artifacts(self, folder: Path) -> None:
        """Upload the bundle's documents, and with ``log_model`` its weights."""
        folder = Path(folder)

        def upload() -> None:
            for name in DOCUMENTS:
                if (folder / name).is_file():
                    self.client.log_artifact(self.run_id, str(folder / name))
            for weights in ("model", "adapter") if self.log_model else ():
                if (folder / weights).is_dir():
                    self.client.log_artifacts(self.run_id, str(folder / weights), weights)

        self._guard(upload, retry=True)

    def close(self, status: str = "FINISHED") -> None:
        """Mark the run FINISHED, FAILED or KILLED."""
        self._guard(lambda: self.client.set_terminated(self.run_id, status), retry=True)
        self.client = None

    def _send_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(items), PARAM_BATCH):
            self.client.log_batch(self.run_id, params=items[start : start + PARAM_BATCH])

    def _send_metrics(self, step: int, metrics: dict[str, float], stamp: int) -> None:
        from mlflow.entities import Metric

        items = [Metric(key, value, stamp, step) for key, value in metrics.items()]
        for start in range(0, len(items), METRIC_BATCH):
            self.client.log_batch(self.run_id, metrics=items[start : start + METRIC_BATCH])


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"
