"""What every experiment tracker does, and the documents each one receives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the bundle's documents every tracker receives; the weights only with ``track.log_model``
DOCUMENTS = ("bizlm.json", "metrics.json", "report.html", "MODEL_CARD.md")


class Tracker:
    """Where one run's params, metrics and artifacts go; this base class drops them."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Record the run's settings (flat ``section.key`` names)."""

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        """Record numbers measured at ``step``."""

    def log_artifacts(self, folder: Path) -> None:
        """Record the documents of the bundle written to ``folder``."""

    def close(self, status: str = "FINISHED") -> None:
        """End the run: FINISHED, FAILED or KILLED (stopped on purpose)."""
