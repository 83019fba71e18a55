"""API keys for the model server, stored (hashed) in the registry database.

A key looks like ``bzk_<key id>_<secret>``. Only its SHA-256 is stored; the key itself is shown
once, when created. Keys are random 256-bit secrets, so a fast hash is as safe as a slow one
and keeps checking a key cheap on every request.

Every key has a finite rate limit: :data:`DEFAULT_RATE_LIMIT` requests per second with bursts of
:data:`DEFAULT_BURST` unless created with its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from bizlm.registry.db import ApiKeyRow, RegistryError, default_url, now, transaction

SCOPES = ("predict", "admin")
PREFIX = "bzk"
_KEY_PATTERN = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_[A-Za-z0-9_-]{{20,}}$")
DEFAULT_RATE_LIMIT = 10.0
DEFAULT_BURST = 20
MAX_LIMIT = 1_000_000  # requests per second, and requests in a burst


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


def default_burst(rate_limit: float) -> int:
    """One second's worth of requests at ``rate_limit`` (at least 1)."""
    return max(1, math.ceil(rate_limit))


def checked_limits(rate_limit: float | None, burst: int | None) -> tuple[float, int]:
    """The rate limit and burst to store for a new key, or :class:`RegistryError`.

    Without a rate limit a key gets the default one; without a burst, one second's worth.
    """
    if rate_limit is None:
        rate_limit = DEFAULT_RATE_LIMIT
        burst = DEFAULT_BURST if burst is None else burst
    if not math.isfinite(rate_limit) or not 0 < rate_limit <= MAX_LIMIT:
        raise RegistryError(
            f"The rate limit must be a number of requests per second above 0 and at most "
            f"{MAX_LIMIT}, not {rate_limit}.",
            hint=f"Pass e.g. --rate-limit 5, or leave it out for {DEFAULT_RATE_LIMIT:g}/s.",
        )
    if burst is None:
        return rate_limit, default_burst(rate_limit)
    if not 1 <= burst <= MAX_LIMIT:
        raise RegistryError(
            f"The burst must be from 1 to {MAX_LIMIT} requests, not {burst}.",
            hint="Pass e.g. --burst 10, or leave it out for one second's worth of requests.",
        )
    return rate_limit, burst


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
        rate_limit, burst = checked_limits(rate_limit, burst)
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
