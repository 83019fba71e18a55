"""Model versions and their stages: add, list, promote, roll back, remove.

Each version points at a bundle folder and keeps a copy of what its ``bizlm.json`` says about
labels, metrics and lineage, plus a fingerprint of that file so a bundle changed on disk after
registration is noticed. Every change of stage runs in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bizlm.bundle import INFO_FILE, read_bundle_info
from bizlm.registry.db import (
    ModelVersionRow,
    RegistryError,
    StageHistoryRow,
    default_url,
    now,
    transaction,
)

STAGES = ("staging", "production", "archived")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_LINEAGE_KEYS = ("created", "task", "parent", "backbone", "data", "versions")
_RECIPE_KEYS = ("model", "method")


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


def bundle_fingerprint(bundle: Path) -> str:
    """SHA-256 of the bundle's ``bizlm.json``, which changes whenever the bundle is rewritten."""
    return hashlib.sha256((bundle / INFO_FILE).read_bytes()).hexdigest()


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


def _to_version(row: ModelVersionRow) -> ModelVersion:
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
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Registry:
    """Model versions stored in the database at ``url`` (default: :func:`default_url`)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()

    def add(self, name: str, bundle: str | Path, stage: str = "staging") -> ModelVersion:
        """Register a bundle as the next version of ``name``."""
        check_name(name)
        check_stage(stage)
        path = Path(bundle).resolve()
        info = read_bundle_info(path)
        fingerprint = bundle_fingerprint(path)
        recipe = info.get("recipe") or {}
        lineage = {k: info[k] for k in _LINEAGE_KEYS if k in info}
        lineage["recipe"] = {k: recipe[k] for k in _RECIPE_KEYS if k in recipe}
        with transaction(self.url) as session:
            same = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.fingerprint == fingerprint
                )
            ).first()
            if same is not None:
                raise RegistryError(
                    f"This bundle is already {name} version {same.version}.",
                    hint=f"Promote it with `bizlm registry promote {name} {same.version}`.",
                )
            last = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
            )
            moment = now()
            row = ModelVersionRow(
                name=name,
                version=(last or 0) + 1,
                stage="staging",
                bundle_path=str(path),
                fingerprint=fingerprint,
                labels=list(info["labels"]),
                metrics=info.get("metrics") or {},
                lineage=lineage,
                registered_at=moment,
                stage_changed_at=moment,
            )
            session.add(row)
            session.flush()
            if stage != "staging":
                self._set_stage(session, row, stage, action="promote")
            return _to_version(row)

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """All versions (of ``name`` when given), by name then version."""
        query = select(ModelVersionRow).order_by(ModelVersionRow.name, ModelVersionRow.version)
        if name is not None:
            query = query.where(ModelVersionRow.name == name)
        with transaction(self.url) as session:
            return [_to_version(row) for row in session.scalars(query)]

    def get(self, name: str, version: int) -> ModelVersion:
        """One version, or a clear error when it does not exist."""
        with transaction(self.url) as session:
            return _to_version(self._row(session, name, version))

    def production(self) -> dict[str, ModelVersion]:
        """The production version of every model that has one."""
        query = select(ModelVersionRow).where(ModelVersionRow.stage == "production")
        with transaction(self.url) as session:
            return {row.name: _to_version(row) for row in session.scalars(query)}

    def promote(self, name: str, version: int, stage: str = "production") -> ModelVersion:
        """Move a version to ``stage``; a new production version archives the previous one."""
        check_stage(stage)
        with transaction(self.url) as session:
            row = self._row(session, name, version)
            if row.stage == stage:
                raise RegistryError(f"{name} version {version} is already in {stage}.")
            self._set_stage(session, row, stage, action="promote")
            return _to_version(row)

    def rollback(self, name: str) -> ModelVersion:
        """Make the version that was production before the current one production again."""
        with transaction(self.url) as session:
            current = self._production_row(session, name)
            if current is None:
                raise RegistryError(
                    f"{name} has no production version to roll back.",
                    hint=f"Promote one with `bizlm registry promote {name} VERSION`.",
                )
            previous = self._last_history(session, name, current.version)
            if previous is None or previous.replaced_version is None:
                raise RegistryError(
                    f"{name} version {current.version} did not replace another production "
                    "version; there is nothing to roll back to."
                )
            target = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.name == name,
                    ModelVersionRow.version == previous.replaced_version,
                )
            ).first()
            if target is None:
                raise RegistryError(
                    f"{name} version {previous.replaced_version}, the previous production "
                    "version, was removed from the registry.",
                    hint="Promote another version instead.",
                )
            self._set_stage(session, target, "production", action="rollback")
            return _to_version(target)

    def remove(self, name: str, version: int) -> ModelVersion:
        """Delete a version from the registry (the bundle folder is left as it is)."""
        with transaction(self.url) as session:
            row = self._row(session, name, version)
            if row.stage == "production":
                raise RegistryError(
                    f"{name} version {version} is in production and cannot be removed.",
                    hint="Promote another version or roll back first.",
                )
            removed = _to_version(row)
            session.delete(row)
            return removed

    def _row(self, session: Session, name: str, version: int) -> ModelVersionRow:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.version == version
            )
        ).first()
        if row is None:
            raise RegistryError(
                f"{name} version {version} is not in the registry.",
                hint=f"See `bizlm registry list {name}`.",
            )
        return row

    def _production_row(self, session: Session, name: str) -> ModelVersionRow | None:
        return session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.stage == "production"
            )
        ).first()

    def _last_history(self, session: Session, name: str, version: int) -> StageHistoryRow | None:
        return session.scalars(
            select(StageHistoryRow)
            .where(StageHistoryRow.name == name, StageHistoryRow.version == version)
            .order_by(StageHistoryRow.id.desc())
        ).first()

    def _set_stage(self, session: Session, row: ModelVersionRow, stage: str, action: str) -> None:
        moment = now()
        if stage == "production":
            current = self._production_row(session, row.name)
            if action == "promote":
                replaced = current.version if current is not None else None
            else:  # a rollback restores the chain the target had, so rollbacks go further back
                earlier = self._last_history(session, row.name, row.version)
                replaced = earlier.replaced_version if earlier is not None else None
            if current is not None:
                current.stage = "archived"
                current.stage_changed_at = moment
                session.flush()  # free the one-production slot before taking it
            session.add(
                StageHistoryRow(
                    name=row.name,
                    version=row.version,
                    replaced_version=replaced,
                    action=action,
                    at=moment,
                )
            )
        row.stage = stage
        row.stage_changed_at = moment
        session.flush()
