"""A registered model version, and the rules for model names and stages."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizlm.bundle import INFO_FILE
from bizlm.bundle_files import Manifest, file_sha256, verify_manifest
from bizlm.errors import BundleError
from bizlm.registry.db import ModelVersionRow, RegistryError
from bizlm.registry.servable import load_servable

STAGES = ("staging", "production", "archived")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ModelVersion:
    """A registered version as stored in the registry."""

    name: str
    version: int
    stage: str
    bundle: str
    fingerprint: str
    labels: list[str]
    metrics: dict[str, Any]
    lineage: dict[str, Any]
    registered_at: dt.datetime
    stage_changed_at: dt.datetime
    manifest: Manifest | None = None

    def check_files(self) -> None:
        """Raise :class:`BundleError` naming the first file of the bundle that changed since
        registration (versions registered before manifests existed: their ``bizlm.json``)."""
        path = Path(self.bundle)
        if self.manifest is not None:
            verify_manifest(path, self.manifest)
            return
        info = path / INFO_FILE
        if not info.is_file() or file_sha256(info) != self.fingerprint:
            raise BundleError(
                f"{info} is missing or changed after it was registered.",
                hint="Register the new bundle as a new version.",
            )

    def open(self) -> Any:
        """The version's predictor, once its files are checked; a :class:`BizlmError` says why
        it cannot be served."""
        self.check_files()
        return load_servable(Path(self.bundle))

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (metrics limited to the headline numbers)."""
        return {
            "name": self.name,
            "version": self.version,
            "stage": self.stage,
            "bundle": self.bundle,
            "labels": self.labels,
            "metrics": headline_metrics(self.metrics),
            "lineage": self.lineage,
            "registered_at": self.registered_at.isoformat(),
            "stage_changed_at": self.stage_changed_at.isoformat(),
        }


def headline_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The scalar metrics of a bundle (accuracy, macro-F1, ...), without tables and bins."""
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str)}


def check_name(name: str) -> str:
    """Return ``name`` if it can be used as a model name (it appears in URLs)."""
    if not NAME_PATTERN.match(name):
        raise RegistryError(
            f"Model name '{name}' is not allowed.",
            hint="Use letters, digits, '.', '_' and '-' (up to 100, starting with a letter/digit).",
        )
    return name


def check_stage(stage: str) -> str:
    """Return ``stage`` if it is one of :data:`STAGES`."""
    if stage not in STAGES:
        raise RegistryError(f"Unknown stage '{stage}'.", hint=f"Choose one of {', '.join(STAGES)}.")
    return stage


def to_version(row: ModelVersionRow) -> ModelVersion:
    """The version a database row describes."""
    return ModelVersion(
        name=row.name,
        version=row.version,
        stage=row.stage,
        bundle=row.bundle_path,
        fingerprint=row.fingerprint,
        labels=list(row.labels),
        metrics=dict(row.metrics),
        lineage=dict(row.lineage),
        registered_at=_aware(row.registered_at),
        stage_changed_at=_aware(row.stage_changed_at),
        manifest=row.manifest,
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
