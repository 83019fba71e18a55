"""API keys, scopes and per-key rate limits for the model server.

The server keeps the active keys in memory (refreshed from the registry every poll interval,
so a revoked key stops working within that time) and checks each presented key against its
stored SHA-256 with a constant-time comparison. Every key has a token bucket (per server
process: with several replicas, each enforces the limit on its own); a key stored without a
usable rate limit gets the default one. A client address with too many failed key checks in a
short time gets 429 for a while, without its keys being checked.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bizlm.registry.keys import (
    DEFAULT_BURST,
    DEFAULT_RATE_LIMIT,
    MAX_LIMIT,
    ApiKey,
    KeyStore,
    default_burst,
    key_id_of,
    key_matches,
)
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
MAX_KEY_FAILURES = 10
KEY_FAILURE_WINDOW_S = 60.0
MISS_RELOAD_INTERVAL_S = 0.2
log = logging.getLogger("bizlm.serve")


class TokenBucket:
    """``rate`` requests per second on average, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self, amount: float = 1.0) -> float:
        """Take ``amount`` tokens: 0 when allowed, else the seconds until they are there."""
        moment = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (moment - self.updated) * self.rate)
        self.updated = moment
        if self.tokens >= amount:
            self.tokens -= amount
            return 0.0
        return (amount - self.tokens) / self.rate

    def give_back(self, amount: float) -> None:
        """Return tokens taken but not used (never above the burst)."""
        self.tokens = min(self.burst, self.tokens + amount)


class GeneratedTokenLimit:
    """Tokens each key may have generated per minute on the chat and completion routes.

    A request reserves its ``max_tokens`` up front from its key's bucket (``per_minute``
    tokens, refilled evenly) and gets 429 with Retry-After when they are not there; once the
    answer ends, the tokens it did not use go back.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def reserve(self, key_id: str, key_name: str, amount: int) -> Callable[[int], None]:
        """Reserve ``amount`` tokens for one answer; the function returned gives back what the
        answer did not use (call it once, with the tokens generated)."""
        amount = min(amount, self.per_minute)
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = TokenBucket(self.per_minute / 60, self.per_minute)
                self._buckets[key_id] = bucket
            wait = bucket.take(amount)
        if wait > 0:
            raise ApiError(
                429,
                "token_rate_limited",
                f"Key '{key_name}' is over its limit of {self.per_minute} generated tokens per "
                f"minute (this request reserves max_tokens={amount}); retry after the "
                "Retry-After seconds, or ask for fewer max_tokens.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

        def give_back(used: int) -> None:
            with self._lock:
                bucket.give_back(amount - min(used, amount))

        return give_back


class FailedKeyThrottle:
    """At most ``limit`` failed key checks per client address within ``window_s`` seconds.

    Only the latest ``limit`` failures of the ``max_clients`` most recently failing addresses
    are kept, so memory stays bounded whatever the traffic.
    """

    def __init__(
        self,
        limit: int = MAX_KEY_FAILURES,
        window_s: float = KEY_FAILURE_WINDOW_S,
        max_clients: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may have a key checked again (0: now)."""
        failures = self._failures.get(client)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window_s - time.monotonic())

    def record(self, client: str) -> None:
        """Note a failed key check from ``client``."""
        failures = self._failures.pop(client, None) or deque(maxlen=self.limit)
        failures.append(time.monotonic())
        self._failures[client] = failures  # last in the dict: the most recent failure
        if len(self._failures) > self.max_clients:
            del self._failures[next(iter(self._failures))]


class KeyRing:
    """The active keys of a registry, held in memory, their rate-limit buckets and key failures.

    A well-formed key that is not in memory reloads the keys first (at most every
    :data:`MISS_RELOAD_INTERVAL_S`), so a key created a moment ago works at once.
    """

    def __init__(self, url: str | None, throttle: FailedKeyThrottle | None = None) -> None:
        self.store = KeyStore(url)
        self.throttle = throttle or FailedKeyThrottle()
        self._keys: dict[str, ApiKey] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._reloaded_at = -math.inf

    def refresh(self) -> int:
        """Reload the active keys; returns how many there are."""
        with self._lock:
            self._reloaded_at = time.monotonic()
        keys = {key.key_id: key for key in self.store.list()}
        with self._lock:
            self._keys = keys
            for key_id in list(self._buckets):
                key = keys.get(key_id)
                bucket = self._buckets[key_id]
                if key is None or rate_limits(key) != (bucket.rate, bucket.burst):
                    del self._buckets[key_id]
        return len(keys)

    async def authenticate(self, presented: str | None, client: str) -> ApiKey:
        """The key record for a key presented from the ``client`` address, else 401 or 429."""
        with self._lock:
            wait = self.throttle.retry_after(client)
        if wait > 0:
            raise ApiError(
                429,
                "too_many_key_failures",
                f"Too many wrong API keys from this address ({self.throttle.limit} within "
                f"{self.throttle.window_s:g} s); retry after the Retry-After seconds.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if not presented:
            raise ApiError(
                401,
                "missing_api_key",
                "An API key is required: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
                {"WWW-Authenticate": "Bearer"},
            )
        key_id = key_id_of(presented)
        if key_id is not None and key_id not in self._keys and self._may_reload():
            try:
                await asyncio.to_thread(self.refresh)
            except Exception as exc:  # a registry outage: the keys in memory still count
                log.error("reloading the API keys failed: %s", exc)
        stored = self._keys.get(key_id) if key_id else None
        if stored is None or not key_matches(presented, stored):
            with self._lock:
                self.throttle.record(client)
            raise ApiError(
                401,
                "invalid_api_key",
                "The API key is wrong or revoked.",
                {"WWW-Authenticate": "Bearer"},
            )
        return stored

    def _may_reload(self) -> bool:
        with self._lock:
            return time.monotonic() - self._reloaded_at >= MISS_RELOAD_INTERVAL_S

    def check_rate(self, key: ApiKey) -> None:
        """Spend one request of the key's rate limit, or answer 429 with Retry-After."""
        rate, burst = rate_limits(key)
        with self._lock:
            bucket = self._buckets.get(key.key_id)
            if bucket is None:
                bucket = self._buckets[key.key_id] = TokenBucket(rate, burst)
            wait = bucket.take()
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"Key '{key.name}' is over its limit of {rate:g} requests/s.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )


def rate_limits(key: ApiKey) -> tuple[float, int]:
    """The key's rate (requests/s) and burst; defaults stand in for missing or unusable values.

    Keys stored without a limit, or with one that is not a finite number in range, get
    :data:`DEFAULT_RATE_LIMIT` and :data:`DEFAULT_BURST`; a missing or unusable burst with a
    usable rate is one second's worth of requests.
    """
    rate = key.rate_limit
    if rate is None or not math.isfinite(rate) or not 0 < rate <= MAX_LIMIT:
        rate, fallback_burst = DEFAULT_RATE_LIMIT, DEFAULT_BURST
    else:
        fallback_burst = default_burst(rate)
    burst = key.burst
    return rate, burst if burst is not None and 1 <= burst <= MAX_LIMIT else fallback_burst
