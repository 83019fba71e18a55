"""Fixtures for the risk monitor: keyword models, a monitor folder, stream builders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bizlm.apps.risk.classifier import RiskClassifier
from bizlm.apps.risk.config import RiskFolder
from bizlm.apps.risk.monitor import Monitor
from bizlm.apps.risk.workspace import InitOptions, init_folder
from tests.serve.conftest import tiny_bundles  # noqa: F401 - a tiny trained bundle for the server

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC).timestamp()
HOUR = 3600.0


class KeywordModel:
    """A predictor stand-in: the label whose keyword appears first wins; ``boom`` raises."""

    def __init__(self, keywords: dict[str, str], default: str) -> None:
        self.labels = sorted({*keywords.values(), default})
        self.keywords = keywords
        self.default = default
        self.broken: set[str] = {"boom"}

    def predict_proba(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        rows = np.full((len(texts), len(self.labels)), 0.05, dtype=np.float32)
        for row, text in enumerate(texts):
            words = text.lower().split()
            if self.broken & set(words):
                raise RuntimeError("the model cannot read this text")
            label = next((self.keywords[w] for w in words if w in self.keywords), self.default)
            rows[row, self.labels.index(label)] = 1.0
        return rows / rows.sum(axis=1, keepdims=True)


def keyword_classifier() -> RiskClassifier:
    """Topics by keyword (bank → business, phone → tech, else sports); sentiment likewise."""
    topic = KeywordModel({"bank": "business", "shares": "business", "phone": "tech"}, "sports")
    sentiment = KeywordModel(
        {"fraud": "negative", "crash": "negative", "great": "positive"}, "neutral"
    )
    return RiskClassifier(topic, sentiment)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BIZLM_REGISTRY", raising=False)


@pytest.fixture()
def folder(tmp_path: Path) -> RiskFolder:
    """A fresh monitor folder with the default rule on a 1 h window."""
    return init_folder(tmp_path / "risk", InitOptions())


@pytest.fixture()
def monitor(folder: RiskFolder) -> Iterator[Monitor]:
    """A monitor over ``folder`` with the keyword models."""
    built = Monitor(folder, keyword_classifier())
    yield built
    built.close()


def stream(hours: int, per_hour: int, surge_hours: dict[int, int], topic_word: str = "bank"):
    """Items over ``hours`` hours: ``per_hour`` calm ones (1 in 5 negative) per hour, plus
    ``surge_hours[h]`` extra negative ones in hour ``h``."""
    items = []
    for hour in range(hours):
        for index in range(per_hour):
            mood = "fraud" if index % 5 == 0 else "steady"
            items.append(
                {
                    "id": f"{topic_word}-h{hour}-{index}",
                    "time": T0 + hour * HOUR + index * (HOUR / (per_hour + 1)),
                    "source": "wire",
                    "text": f"{topic_word} {mood} news about Acme Corp",
                }
            )
        for index in range(surge_hours.get(hour, 0)):
            items.append(
                {
                    "id": f"{topic_word}-s{hour}-{index}",
                    "time": T0 + hour * HOUR + 60 + index,
                    "source": "wire",
                    "text": f"{topic_word} fraud crash at Acme Corp",
                }
            )
    return items
