"""Model versions and their stages: add, list, promote, roll back, remove.

Each version points at a bundle folder and keeps a copy of what its ``bizlm.json`` says about
labels, metrics and lineage, plus a manifest (size and SHA-256 of every file) so a bundle changed
on disk after registration is noticed. A bundle that cannot be served is not added, and a
version that cannot be served is not made production. Every change of stage runs in one
transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bizlm.bundle import read_bundle_info
from bizlm.bundle_files import bundle_manifest, manifest_fingerprint
from bizlm.errors import BizlmError
from bizlm.registry.db import (
    ModelVersionRow,
    RegistryError,
    StageHistoryRow,
    default_url,
    now,
    transaction,
)
from bizlm.registry.servable import PromotionRefused, load_servable
from bizlm.registry.versions import ModelVersion, check_name, check_stage, to_version

_LINEAGE_KEYS = {"created", "task", "parent", "backbone", "data", "versions"}
_RECIPE_KEYS = ("model", "method")


class Registry:
    """Model versions stored in the database at ``url`` (default: :func:`default_url`)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()

    def add(self, name: str, bundle: str | Path, stage: str = "staging") -> ModelVersion:
        """Register a bundle as the next version of ``name``, once it loads as the server
        would load it; the manifest of its files is stored with the version."""
        check_name(name)
        check_stage(stage)
        path = Path(bundle).resolve()
        info = read_bundle_info(path)
        manifest = bundle_manifest(path)
        fingerprint = manifest_fingerprint(manifest)
        with transaction(self.url) as session:
            _refuse_duplicate(session, name, fingerprint)
        load_servable(path)
        lineage = info.model_dump(exclude_unset=True, include=_LINEAGE_KEYS)
        lineage["recipe"] = {k: info.recipe[k] for k in _RECIPE_KEYS if k in info.recipe}
        with transaction(self.url) as session:
            _refuse_duplicate(session, name, fingerprint)  # added by another process meanwhile
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
                manifest=manifest,
                labels=list(info.labels),
                metrics=info.metrics,
                lineage=lineage,
                registered_at=moment,
                stage_changed_at=moment,
            )
            session.add(row)
            session.flush()
            if stage != "staging":
                self._set_stage(session, row, stage, action="promote")
            return to_version(row)

    def list(self, name: str | None = None) -> list[ModelVersion]:
        """All versions (of ``name`` when given), by name then version."""
        query = select(ModelVersionRow).order_by(ModelVersionRow.name, ModelVersionRow.version)
        if name is not None:
            query = query.where(ModelVersionRow.name == name)
        with transaction(self.url) as session:
            return [to_version(row) for row in session.scalars(query)]

    def get(self, name: str, version: int) -> ModelVersion:
        """One version, or a clear error when it does not exist."""
        with transaction(self.url) as session:
            return to_version(self._row(session, name, version))

    def production(self) -> dict[str, ModelVersion]:
        """The production version of every model that has one."""
        query = select(ModelVersionRow).where(ModelVersionRow.stage == "production")
        with transaction(self.url) as session:
            return {row.name: to_version(row) for row in session.scalars(query)}

    def promote(self, name: str, version: int, stage: str = "production") -> ModelVersion:
        """Move a version to ``stage``; a new production version archives the previous one.

        A version is made production only once it loads (:class:`PromotionRefused` otherwise).
        """
        check_stage(stage)
        target = self.get(name, version)
        if target.stage == stage:
            raise RegistryError(f"{name} version {version} is already in {stage}.")
        if stage == "production":
            _check_servable(target)
        with transaction(self.url) as session:
            row = self._row(session, name, version)
            if row.stage == stage:  # promoted by another process meanwhile
                raise RegistryError(f"{name} version {version} is already in {stage}.")
            self._set_stage(session, row, stage, action="promote")
            return to_version(row)

    def earlier_production(self, name: str, besides: int) -> list[ModelVersion]:
        """The versions of ``name`` that were production, most recently first, except
        ``besides``: where the server turns when the production version cannot be loaded."""
        query = (
            select(StageHistoryRow.version)
            .where(StageHistoryRow.name == name, StageHistoryRow.version != besides)
            .order_by(StageHistoryRow.id.desc())
        )
        with transaction(self.url) as session:
            numbers = list(dict.fromkeys(session.scalars(query)))
            rows = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.version.in_(numbers)
                )
            )
            found = {row.version: to_version(row) for row in rows}
        return [found[number] for number in numbers if number in found]

    def rollback(self, name: str) -> ModelVersion:
        """Make the version that was production before the current one production again,
        once it loads (:class:`PromotionRefused` otherwise)."""
        with transaction(self.url) as session:
            target = to_version(self._rollback_target(session, name))
        _check_servable(target)
        with transaction(self.url) as session:
            row = self._rollback_target(session, name)
            if row.version != target.version:
                raise RegistryError(
                    f"The production version of {name} changed during the rollback.", hint="Retry."
                )
            self._set_stage(session, row, "production", action="rollback")
            return to_version(row)

    def _rollback_target(self, session: Session, name: str) -> ModelVersionRow:
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
        return target

    def remove(self, name: str, version: int) -> ModelVersion:
        """Delete a version from the registry (the bundle folder is left as it is)."""
        with transaction(self.url) as session:
            row = self._row(session, name, version)
            if row.stage == "production":
                raise RegistryError(
                    f"{name} version {version} is in production and cannot be removed.",
                    hint="Promote another version or roll back first.",
                )
            removed = to_version(row)
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


def _refuse_duplicate(session: Session, name: str, fingerprint: str) -> None:
    """Raise :class:`RegistryError` when a version of ``name`` has exactly these files."""
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


def _check_servable(version: ModelVersion) -> None:
    """Raise :class:`PromotionRefused` (the stage stays as it is) unless ``version`` loads."""
    try:
        version.open()
    except BizlmError as exc:
        raise PromotionRefused(
            f"{version.name} version {version.version} was not made production (it stays "
            f"{version.stage}): {exc.message}",
            hint=exc.hint,
        ) from None
