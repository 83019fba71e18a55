"""API keys, scopes and per-key rate limits for the model server.

The server keeps the active keys in memory (refreshed from the registry every poll interval,
so a revoked key stops working within that time) and checks each presented key against its
stored SHA-256 with a constant-time comparison. Each key with a rate limit has a token bucket
(per server process: with several replicas, each enforces the limit on its own).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from bizlm.registry.keys import ApiKey, KeyStore, key_id_of, key_matches
from bizlm.serve.errors import ApiError


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name and scopes, or everyone when auth is off."""

    name: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        """``admin`` allows everything; other scopes allow themselves."""
        return "admin" in self.scopes or scope in self.scopes


ANONYMOUS = Principal("anonymous", ("admin",))


class TokenBucket:
    """``rate`` requests per second on average, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> float:
        """Take one token: 0 when allowed, else the seconds until one is available."""
        moment = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (moment - self.updated) * self.rate)
        self.updated = moment
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class KeyRing:
    """The active keys of a registry, held in memory, and their rate-limit buckets."""

    def __init__(self, url: str | None) -> None:
        self.store = KeyStore(url)
        self._keys: dict[str, ApiKey] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Reload the active keys; returns how many there are."""
        keys = {key.key_id: key for key in self.store.list()}
        with self._lock:
            self._keys = keys
            for key_id in list(self._buckets):
                key = keys.get(key_id)
                bucket = self._buckets[key_id]
                if key is None or (key.rate_limit, _burst(key)) != (bucket.rate, bucket.burst):
                    del self._buckets[key_id]
        return len(keys)

    def authenticate(self, presented: str | None) -> ApiKey:
        """The key record for a presented key, or 401."""
        if not presented:
            raise ApiError(
                401,
                "missing_api_key",
                "An API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
                {"WWW-Authenticate": "Bearer"},
            )
        key_id = key_id_of(presented)
        stored = self._keys.get(key_id) if key_id else None
        if stored is None or not key_matches(presented, stored):
            raise ApiError(
                401,
                "invalid_api_key",
                "The API key is wrong or revoked.",
                {"WWW-Authenticate": "Bearer"},
            )
        return stored

    def check_rate(self, key: ApiKey) -> None:
        """Spend one request of the key's rate limit, or answer 429 with Retry-After."""
        if key.rate_limit is None:
            return
        with self._lock:
            bucket = self._buckets.get(key.key_id)
            if bucket is None:
                bucket = self._buckets[key.key_id] = TokenBucket(key.rate_limit, _burst(key))
            wait = bucket.take()
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"Key '{key.name}' is over its limit of {key.rate_limit:g} requests/s.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )


def _burst(key: ApiKey) -> int:
    """The key's burst, by default one second's worth of requests (at least 1)."""
    assert key.rate_limit is not None
    return key.burst or max(1, math.ceil(key.rate_limit))
