"""The registry database: tables, engines and transactions (any SQLAlchemy URL).

The default is a SQLite file under :func:`bizlm.paths.bizlm_home`; a shared registry uses any
other SQLAlchemy URL (e.g. ``postgresql+psycopg://user@host/bizlm``). Tables are created on
first use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bizlm.errors import BizlmError
from bizlm.paths import bizlm_home
from bizlm.private_files import ensure_private_database

REGISTRY_ENV = "BIZLM_REGISTRY"


class RegistryError(BizlmError):
    """The registry database cannot be reached, or a registry operation is not allowed."""


class Base(DeclarativeBase):
    """Declarative base of the registry tables."""


class ModelVersionRow(Base):
    """One registered bundle: a numbered version of a named model."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        # At most one production version per name, enforced by the database itself.
        Index(
            "one_production_per_name",
            "name",
            unique=True,
            sqlite_where=text("stage = 'production'"),
            postgresql_where=text("stage = 'production'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    bundle_path: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # size and SHA-256 of every file of the bundle (None: registered before manifests existed)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    labels: Mapped[list[str]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    stage_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class StageHistoryRow(Base):
    """A version made production, and the production version it replaced (for rollback)."""

    __tablename__ = "stage_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    replaced_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """An API key: only the SHA-256 of the key is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200))
    rate_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    burst: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRow(Base):
    """One answered request to the model server (texts only when enabled, always masked)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    key_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    n_texts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    texts: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def default_url() -> str:
    """``$BIZLM_REGISTRY``, or a SQLite file ``registry.db`` under the bizlm home."""
    return os.environ.get(REGISTRY_ENV) or f"sqlite:///{bizlm_home() / 'registry.db'}"


def _configure_sqlite(engine: Engine) -> None:
    """Wait for locks instead of failing, and take the write lock when a transaction begins."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        dbapi_connection.execute("PRAGMA busy_timeout = 10000")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _add_new_columns(engine: Engine) -> None:
    """Add the nullable columns introduced after a table was created (``create_all`` only
    creates missing tables); a column another process has just added is left as it is."""
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspect(engine).get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"
                    )
            except SQLAlchemyError:
                added = {c["name"] for c in inspect(engine).get_columns(table.name)}
                if column.name not in added:
                    raise


@functools.cache
def engine_for(url: str) -> Engine:
    """One engine per URL, with the tables created (a SQLite file is created 0600)."""
    try:
        ensure_private_database(url)
    except OSError as exc:
        raise RegistryError(
            f"Cannot create the registry database of '{url}': {exc.strerror} ({exc.filename}).",
            hint="Choose a folder you may write to (--registry or $BIZLM_REGISTRY).",
        ) from None
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise RegistryError(
            f"Cannot use registry URL '{url}': {exc}.",
            hint="Pass a SQLAlchemy URL, e.g. sqlite:///registry.db, with its driver installed.",
        ) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    try:
        Base.metadata.create_all(engine)
        _add_new_columns(engine)
    except SQLAlchemyError as exc:
        raise RegistryError(
            f"Cannot open the registry at '{engine.url.render_as_string()}': "
            f"{getattr(exc, 'orig', None) or exc}.",
            hint="Check the URL, that the database server runs and that you may write to it.",
        ) from None
    return engine


@contextlib.contextmanager
def transaction(url: str) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on any error."""
    session = Session(engine_for(url), expire_on_commit=False)
    try:
        with session.begin():
            yield session
    except SQLAlchemyError as exc:
        raise RegistryError(
            f"Registry operation failed: {getattr(exc, 'orig', None) or exc}.",
            hint="Another process may have changed the same model at the same time; retry.",
        ) from None
    finally:
        session.close()
