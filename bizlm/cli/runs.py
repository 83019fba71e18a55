"""``bizlm runs list|show`` (tracked MLflow runs) and ``bizlm tune`` (hyper-parameter search)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from bizlm.cli.options import JsonOption
from bizlm.cli.output import echo_json, err, out
from bizlm.errors import DataError
from bizlm.progress import Reporter, RichReporter
from bizlm.training.mlflow_tracking import local_store
from bizlm.training.tune import tune as run_search

runs_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Training runs tracked in MLflow (recipes with track.mlflow: true).",
)

#: scores shown in the `runs list` table (JSON has every final metric)
HEADLINE = ("accuracy", "macro_f1", "micro_f1", "f1", "pearson", "spearman")
UriOption = Annotated[
    str | None,
    typer.Option(
        "--uri",
        help="MLflow tracking URI to read (default: the local store "
        "sqlite:///$BIZLM_HOME/mlruns/mlflow.db).",
    ),
]


def _client(uri: str | None) -> Any:
    """An MLflow client of ``uri`` (default the local store), or None when that store is empty."""
    uri = uri or local_store()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _time(millis: int | None) -> str | None:
    if millis is None:
        return None
    return dt.datetime.fromtimestamp(millis / 1000).isoformat(sep=" ", timespec="seconds")


def _summary(run: Any, experiment: str) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "experiment": experiment,
        "name": info.run_name,
        "status": info.status,
        "started": _time(info.start_time),
        "ended": _time(info.end_time),
        "final_metrics": {
            key.removeprefix("final_"): value
            for key, value in sorted(run.data.metrics.items())
            if key.startswith("final_")
        },
    }


@runs_app.command("list")
def runs_list(
    experiment: Annotated[
        str | None, typer.Option(help="Only this experiment (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs, newest first.")] = 50,
    uri: UriOption = None,
    as_json: JsonOption = False,
) -> None:
    """List tracked runs, newest first, with their final scores."""
    from mlflow.exceptions import MlflowException

    if limit < 1:
        raise DataError(f"--limit must be at least 1, got {limit}.", hint="Use --limit 20.")
    client = _client(uri)
    rows: list[dict[str, Any]] = []
    try:
        experiments = (
            {e.experiment_id: e.name for e in client.search_experiments()} if client else {}
        )
        if experiment is not None and client is not None:
            experiments = {k: v for k, v in experiments.items() if v == experiment}
            if not experiments:
                raise DataError(
                    f"No experiment '{experiment}' in the MLflow store.",
                    hint="Run `bizlm runs list` without --experiment to see every run.",
                )
        if experiments:
            runs = client.search_runs(
                list(experiments), max_results=limit, order_by=["attributes.start_time DESC"]
            )
            rows = [_summary(run, experiments[run.info.experiment_id]) for run in runs]
    except MlflowException as exc:
        raise DataError(f"Cannot read the MLflow store: {exc.message}.") from None
    if as_json:
        echo_json(rows)
        return
    if not rows:
        out.print("No tracked runs yet; set track.mlflow: true in a recipe to record runs.")
        return
    table = Table("experiment", "name", "status", "started", "final scores")
    table.columns.insert(0, Column("run id", no_wrap=True))  # whole, for `bizlm runs show`
    for row in rows:
        scores = "  ".join(f"{k} {v:.4f}" for k, v in _headline(row["final_metrics"]).items())
        table.add_row(
            row["run_id"], row["experiment"], row["name"], row["status"], row["started"], scores
        )
    out.print(table)


def _headline(finals: dict[str, float]) -> dict[str, float]:
    """The main scores of the split the bundle was judged on (test when there was one)."""
    split = "test" if any(key.startswith("test_") for key in finals) else "validation"
    return {
        f"{split}_{name}": finals[f"{split}_{name}"]
        for name in HEADLINE
        if f"{split}_{name}" in finals
    }


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (see `bizlm runs list`).")],
    uri: UriOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one run: its params, the last value of every metric, and its artifacts."""
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        if client is None:
            raise MlflowException("empty store")
        run = client.get_run(run_id)
        experiment = client.get_experiment(run.info.experiment_id).name
        artifacts = [item.path for item in client.list_artifacts(run_id)]
    except MlflowException:
        raise DataError(
            f"No run '{run_id}' in the MLflow store.",
            hint="Copy a run id from `bizlm runs list` (give --uri for another store).",
        ) from None
    record = {
        **_summary(run, experiment),
        "metrics": dict(sorted(run.data.metrics.items())),
        "params": dict(sorted(run.data.params.items())),
        "tags": {k: v for k, v in sorted(run.data.tags.items()) if not k.startswith("mlflow.")},
        "artifact_uri": run.info.artifact_uri,
        "artifacts": artifacts,
    }
    if as_json:
        echo_json(record)
        return
    for key in ("run_id", "experiment", "name", "status", "started", "ended", "artifact_uri"):
        out.print(f"[bold]{key}[/bold]: {record[key]}", highlight=False)
    out.print(f"[bold]artifacts[/bold]: {', '.join(artifacts) or '-'}", highlight=False)
    for title in ("metrics", "params"):
        table = Table(title[:-1], "value", title=title)
        for key, value in record[title].items():
            table.add_row(key, f"{value:.6g}" if isinstance(value, float) else str(value))
        out.print(table)


def tune(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")],
    trials: Annotated[
        int, typer.Option(help="Trials the study holds when done (a rerun adds up to it).")
    ],
    timeout: Annotated[
        float | None, typer.Option(help="Start no new trial after this many seconds.")
    ] = None,
    study_db: Annotated[
        Path | None, typer.Option(help="SQLite file of the study (default: <output>.tune.db).")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: a.b=value.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Search hyper-parameters with Optuna; write the best recipe to <output>.best.yaml.

    Searched: train.learning_rate (log scale, default 1/10 to 10 times the recipe's),
    train.epochs (half to twice the recipe's), train.warmup_ratio (0 to 0.2) and, for methods
    with a rank (lora, loha, lokr, vera), method.r (4, 8, 16 or 32). A `tune:` section in the
    recipe changes them, e.g. `tune: {learning_rate: [1e-4, 1e-2], epochs: [2, 6], r: [8, 16]}`.
    Each trial is scored by the best validation value of train.early_stopping_metric; trials
    that fall below the median of earlier ones at the same step are stopped early.
    """
    result = run_search(
        recipe,
        trials,
        timeout=timeout,
        study_db=study_db,
        overrides=list(set_ or []),
        reporter=Reporter() if quiet or as_json else RichReporter(err),
    )
    if as_json:
        echo_json(result.__dict__)
        return
    keys = sorted({key for row in result.trials for key in row["params"]})
    table = Table("trial", "state", result.metric, *keys, "seconds", title=result.study)
    for row in result.trials:
        value = "-" if row["value"] is None else f"{row['value']:.4f}"
        params = [_param(row["params"].get(key)) for key in keys]
        table.add_row(str(row["number"]), row["state"], value, *params, str(row["seconds"]))
    out.print(table)
    if result.best is None:
        out.print("No trial completed; no best recipe was written.")
        return
    out.print(f"best: trial {result.best['number']} ({result.metric} {result.best['value']:.4f})")
    out.print(f"best recipe: {result.best_recipe}")
    out.print(f"best bundle: {result.best['bundle']}")
    out.print(f"study: {result.storage} (run again with more --trials to continue)")


def _param(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)
