"""Alert rules in YAML: which topic (or every topic), entity, window, detector and cool-down.

```yaml
rules:
  - name: negative-surge
    topic: "*"          # every topic on its own, or one topic label
    entity: null        # optional: only items naming this entity
    window: 1h          # 5m … 1d
    signal: negative_count   # or negative_share (of the window's items)
    detector: ewma      # ewma (z-score) or cusum
    threshold: 4.0      # z for ewma, the cumulative sum for cusum
    min_count: 10       # quieter windows never alert
    cooldown: 3h        # no second alert for the same rule and topic within this time
```
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from bizlm.apps.risk.config import RiskError, parse_duration, parse_window
from bizlm.apps.risk.detectors import DETECTORS, SIGNALS, DetectorSettings
from bizlm.atomic import atomic_write_text
from bizlm.yaml_files import read_yaml_mapping, validate_mapping

ALL_TOPICS = "*"


class Rule(BaseModel):
    """One alert rule."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    topic: str = ALL_TOPICS
    entity: str | None = None
    window: str | int = "1h"
    signal: str = "negative_count"
    detector: str = "ewma"
    threshold: float = Field(4.0, gt=0)
    min_count: int = Field(10, ge=1)
    cooldown: str | int = "3h"

    @field_validator("detector", "signal")
    @classmethod
    def _known_choice(cls, value: str, info: ValidationInfo) -> str:
        allowed = DETECTORS if info.field_name == "detector" else SIGNALS
        if value not in allowed:
            raise ValueError(f"'{value}' is not a {info.field_name}; use one of {list(allowed)}")
        return value

    @field_validator("window", "cooldown")
    @classmethod
    def _valid_duration(cls, value: str | int, info: ValidationInfo) -> str | int:
        check = parse_window if info.field_name == "window" else parse_duration
        try:
            check(value, "")
        except RiskError as exc:
            raise ValueError(exc.message.removeprefix(": ")) from None
        return value

    @property
    def window_s(self) -> int:
        """The rule's window in seconds."""
        return parse_window(self.window, f"rule '{self.name}'")

    @property
    def cooldown_s(self) -> int:
        """The rule's cool-down in seconds."""
        return parse_duration(self.cooldown, f"rule '{self.name}': cooldown")

    def settings(self) -> DetectorSettings:
        """The detector this rule runs."""
        return DetectorSettings(self.detector, self.threshold, self.signal, self.min_count)


DEFAULT_RULES = [Rule(name="negative-surge")]


def load_rules(path: Path, topics: list[str]) -> list[Rule]:
    """Read and check the rules; a rule naming a topic the model does not know is an error."""
    raw = read_yaml_mapping(path, RiskError, "Write one (see the README).")
    entries = raw.get("rules")
    if not isinstance(entries, list) or not entries:
        raise RiskError(f"{path}: expected a non-empty list under 'rules'.")
    rules: list[Rule] = []
    for index, entry in enumerate(entries):
        rule = validate_mapping(Rule, entry, f"{path}: rule {index + 1}", RiskError)
        if rule.topic != ALL_TOPICS and rule.topic not in topics:
            raise RiskError(
                f"{path}: rule '{rule.name}' names unknown topic '{rule.topic}'.",
                hint=f"Use '*' or one of the topic model's labels: {', '.join(topics)}.",
            )
        rules.append(rule)
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise RiskError(f"{path}: rule names must be unique, got {names}.")
    return rules


def write_rules(path: Path, rules: list[Rule]) -> None:
    """Write rules as YAML, atomically."""
    raw = {"rules": [rule.model_dump(mode="json") for rule in rules]}
    atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))
