"""API keys for the model server, stored (hashed) in the registry database.

A key looks like ``bzk_<key id>_<secret>``. Only its SHA-256 is stored; the key itself is shown
once, when created. Keys are random 256-bit secrets, so a fast hash is as safe as a slow one
and keeps checking a key cheap on every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from bizlm.registry.db import ApiKeyRow, RegistryError, default_url, now, transaction

SCOPES = ("predict", "admin")
PREFIX = "bzk"
_KEY_PATTERN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_[A-Za-z0-9_-]{{20,}}$")


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the key itself)."""

    key_id: str
    name: str
    key_hash: str
    scopes: tuple[str, ...]
    rate_limit: float | None
    burst: int | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    def summary(self) -> dict[str, object]:
        """JSON-ready description, without the hash."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "rate_limit": self.rate_limit,
            "burst": self.burst,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_key(key: str) -> str:
    """Hex SHA-256 of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id inside a well-formed key, or None."""
    match = _KEY_PATTERN.match(key)
    return match.group(1) if match else None


def key_matches(key: str, stored: ApiKey) -> bool:
    """Constant-time comparison of a presented key with a stored hash."""
    return hmac.compare_digest(hash_key(key), stored.key_hash)


def _to_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        key_hash=row.key_hash,
        scopes=tuple(s for s in row.scopes.split(",") if s),
        rate_limit=row.rate_limit,
        burst=row.burst,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class KeyStore:
    """API keys in the registry database at ``url``."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()

    def create(
        self,
        name: str,
        scopes: list[str],
        rate_limit: float | None = None,
        burst: int | None = None,
    ) -> tuple[str, ApiKey]:
        """Create a key; returns the key (shown only now) and its stored record."""
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise RegistryError(
                f"Unknown or missing scopes {unknown or scopes}.",
                hint=f"Give one or more of {', '.join(SCOPES)}.",
            )
        if rate_limit is not None and rate_limit <= 0:
            raise RegistryError("The rate limit must be positive (requests per second).")
        if burst is not None and burst < 1:
            raise RegistryError("The burst must be at least 1 request.")
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with transaction(self.url) as session:
            active = session.scalars(
                select(ApiKeyRow).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
            ).first()
            if active is not None:
                raise RegistryError(
                    f"An active key named '{name}' exists already.",
                    hint=f"Revoke it first (`bizlm keys revoke {name}`) or pick another name.",
                )
            row = ApiKeyRow(
                key_id=key_id,
                name=name,
                key_hash=hash_key(key),
                scopes=",".join(dict.fromkeys(scopes)),
                rate_limit=rate_limit,
                burst=burst,
                created_at=now(),
            )
            session.add(row)
            session.flush()
            return key, _to_key(row)

    def list(self, include_revoked: bool = False) -> list[ApiKey]:
        """Keys by creation time (active ones only unless ``include_revoked``)."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with transaction(self.url) as session:
            return [_to_key(row) for row in session.scalars(query)]

    def revoke(self, name_or_id: str) -> ApiKey:
        """Revoke the active key with this name or key id."""
        with transaction(self.url) as session:
            row = session.scalars(
                select(ApiKeyRow).where(
                    (ApiKeyRow.name == name_or_id) | (ApiKeyRow.key_id == name_or_id),
                    ApiKeyRow.revoked_at.is_(None),
                )
            ).first()
            if row is None:
                raise RegistryError(
                    f"No active key named '{name_or_id}'.", hint="See `bizlm keys list`."
                )
            row.revoked_at = now()
            return _to_key(row)
