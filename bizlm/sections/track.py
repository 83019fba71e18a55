"""The recipe's ``track:`` section: where a training run's params, metrics and reports go.

Both trackers are off by default. TensorBoard writes event files under
``<output>.tb/<run name>/``; MLflow logs to ``mlflow_uri``, else ``$MLFLOW_TRACKING_URI``, else
the local store ``sqlite:///$BIZLM_HOME/mlruns/mlflow.db`` (artifacts in
``$BIZLM_HOME/mlruns/artifacts/``). A server that cannot be reached never stops training: the run
goes to the local store instead, with one warning.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class TrackConfig(BaseModel):
    """Experiment tracking switches; every one is off by default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    tensorboard: bool = Field(
        False, description="Write TensorBoard event files (scalars, params, final metrics)."
    )
    tensorboard_dir: Path | None = Field(
        None, description="Folder of TensorBoard runs; default <output>.tb (one subfolder a run)."
    )
    mlflow: bool = Field(False, description="Log the run to MLflow.")
    mlflow_uri: str | None = Field(
        None,
        description="MLflow tracking URI (http(s)://…, sqlite:///…); default "
        "$MLFLOW_TRACKING_URI, else sqlite:///$BIZLM_HOME/mlruns/mlflow.db.",
    )
    experiment: str | None = Field(
        None, min_length=1, description="Experiment name; default the output folder's name."
    )
    run_name: str | None = Field(
        None, min_length=1, description="Run name; default the date and time the run started."
    )
    log_model: bool = Field(
        False,
        description="MLflow: also upload the weights (model/, adapter/), not only bizlm.json, "
        "metrics.json, report.html and MODEL_CARD.md.",
    )
