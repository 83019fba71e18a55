"""Predict a Ray Data dataset with a pool of actors that each load the bundle once."""

from __future__ import annotations

from pathlib import Path

import ray.data

from bizlm.batch.scorer import BundleScorer, CheckedBundle
from bizlm.predict_files import CHUNK


def predict_dataset(
    bundle: str | Path,
    dataset: ray.data.Dataset,
    text_column: str | None = None,
    actors: int = 1,
    batch_size: int = 64,
) -> ray.data.Dataset:
    """``dataset`` with prediction columns added, as ``bizlm predict --input`` adds them.

    Every input column is kept. The bundle is loaded here first, so that one the actors
    cannot load fails at once, then once per actor of a pool of ``actors``. ``batch_size``
    texts go through the model at a time. Rows come back in no fixed order: carry an id
    column to sort by (:func:`bizlm.batch.predict_files_on_ray` adds ``input_row``).
    """
    return score_dataset(CheckedBundle.load(bundle), dataset, text_column, actors, batch_size)


def score_dataset(
    bundle: CheckedBundle,
    dataset: ray.data.Dataset,
    text_column: str | None,
    actors: int,
    batch_size: int,
) -> ray.data.Dataset:
    """:func:`predict_dataset` for a bundle already checked in the driver."""
    schema = dataset.schema()
    bundle.check_columns(schema.names if schema else [], text_column, "The dataset")
    return dataset.map_batches(
        BundleScorer,
        fn_constructor_kwargs={
            "bundle": bundle,
            "text_column": text_column,
            "batch_size": batch_size,
        },
        compute=ray.data.ActorPoolStrategy(size=actors),
        batch_size=CHUNK,
        batch_format="pyarrow",
        udf_modifying_row_count=False,
    )
