"""The monitor's folder: ``risk.yaml`` (models, window, sinks) and where everything else lives."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bizlm.apps.risk.items import EARLIEST_TIME, MAX_FUTURE, TimeBounds, parse_time
from bizlm.atomic import atomic_write_text
from bizlm.errors import BizlmError
from bizlm.yaml_files import read_yaml_mapping, validate_mapping

CONFIG_FILE = "risk.yaml"
RULES_FILE = "rules.yaml"
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_WINDOW_S = 5 * 60
MAX_WINDOW_S = 86400
MAX_WINDOWS = 2000


class RiskError(BizlmError):
    """The risk monitor's folder, configuration, rules or input is not usable."""


def parse_duration(text: str | int | float, what: str) -> int:
    """Seconds in a duration such as ``90s``, ``5m``, ``1h``, ``1d`` (a bare number is seconds)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*", str(text))
        if found is None:
            raise RiskError(
                f"{what}: '{text}' is not a duration.", hint="Write e.g. 90s, 5m, 1h or 1d."
            )
        seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if seconds <= 0:
        raise RiskError(f"{what}: the duration must be positive, not '{text}'.")
    return int(seconds)


def parse_window(text: str | int | float, what: str) -> int:
    """A trend window in seconds, between 5 minutes and 1 day."""
    seconds = parse_duration(text, what)
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise RiskError(
            f"{what}: window '{text}' is outside 5m … 1d.", hint="Pick a window from 5m to 1d."
        )
    return seconds


class WebhookConfig(BaseModel):
    """One webhook sink: where alerts are POSTed, and how delivery is retried."""

    model_config = ConfigDict(extra="forbid")

    url: str
    timeout_s: float = Field(5.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    backoff_s: float = Field(2.0, gt=0)
    max_backoff_s: float = Field(600.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"'{url}' is not an http(s) URL")
        return url


class RiskConfig(BaseModel):
    """``risk.yaml``: model bundles (relative to the folder), window, batching and sinks."""

    model_config = ConfigDict(extra="forbid")

    topic_model: str = "models/topic"
    sentiment_model: str = "models/sentiment"
    entity_model: str | None = None
    topic_recipe: str = "recipes/topic.yaml"
    sentiment_recipe: str = "recipes/sentiment.yaml"
    window: str = "1h"
    negative_label: str = "negative"
    batch_size: int = Field(64, ge=1)
    max_attempts: int = Field(5, ge=1)
    inbox: str = "inbox"
    log_alerts: bool = True
    webhooks: list[WebhookConfig] = []
    earliest_time: str | float = EARLIEST_TIME
    max_future: str | int = MAX_FUTURE
    max_windows: int = Field(MAX_WINDOWS, ge=10, le=100_000)


class RiskFolder:
    """Paths and configuration of one monitor folder."""

    def __init__(self, root: Path, config: RiskConfig) -> None:
        self.root = Path(root)
        self.config = config

    @classmethod
    def open(cls, root: Path) -> RiskFolder:
        """Read ``risk.yaml`` in ``root``, or explain how to create it."""
        path = Path(root) / CONFIG_FILE
        if not path.is_file():
            raise RiskError(
                f"{root} is not a risk monitor folder (no {CONFIG_FILE}).",
                hint=f"Create one with `bizlm app risk init {root}`.",
            )
        config = validate_mapping(RiskConfig, read_yaml_mapping(path, RiskError), path, RiskError)
        parse_window(config.window, f"{path}: window")
        folder = cls(Path(root), config)
        folder.time_bounds  # noqa: B018 - refuse bad time bounds when the folder is opened
        return folder

    def save(self) -> None:
        """Write ``risk.yaml`` atomically."""
        raw = self.config.model_dump(mode="json", exclude_defaults=False)
        atomic_write_text(self.root / CONFIG_FILE, yaml.safe_dump(raw, sort_keys=False))

    def path(self, relative: str) -> Path:
        """A configured path, relative to the folder unless absolute."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def database(self) -> Path:
        """The SQLite file with items, alerts and the webhook outbox."""
        return self.root / "risk.db"

    @property
    def rules(self) -> Path:
        """The alert rules."""
        return self.root / RULES_FILE

    @property
    def window_s(self) -> int:
        """The default trend window in seconds."""
        return parse_window(self.config.window, "window")

    @property
    def time_bounds(self) -> TimeBounds:
        """The item times accepted: from ``earliest_time`` to ``max_future`` after now."""
        where = self.root / CONFIG_FILE
        try:
            earliest = parse_time(self.config.earliest_time)
        except ValueError as exc:
            raise RiskError(
                f"{where}: earliest_time: {exc}.", hint="Write e.g. 2000-01-01T00:00:00Z."
            ) from None
        if earliest < 0:
            raise RiskError(
                f"{where}: earliest_time '{self.config.earliest_time}' is before 1970.",
                hint="Pick a time from 1970-01-01 on.",
            )
        return TimeBounds(earliest, parse_duration(self.config.max_future, f"{where}: max_future"))
