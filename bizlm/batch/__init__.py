"""Batch prediction on a Ray cluster: Ray Data datasets and whole folders of files.

:func:`predict_dataset` adds prediction columns to a ``ray.data.Dataset`` with a pool of
actors that each load the bundle once; :func:`predict_files_on_ray` predicts CSV, JSONL and
Parquet files into Parquet parts, one per input file, skipping parts an earlier run wrote.
Needs the ``scale`` extra (``pip install 'bizlm[scale]'``).
"""

from __future__ import annotations

from bizlm.batch.dataset import predict_dataset
from bizlm.batch.files import predict_files_on_ray

__all__ = ["predict_dataset", "predict_files_on_ray"]
