"""Where a recommender application keeps its recipe, data, models and reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bizlm.apps.recommend.config import RECIPE_FILE
from bizlm.errors import BundleError


@dataclass(frozen=True)
class AppLayout:
    """Paths inside an application folder."""

    root: Path

    @property
    def recipe(self) -> Path:
        """The recommender recipe."""
        return self.root / RECIPE_FILE

    @property
    def data(self) -> Path:
        """Interaction and item files written by `init`."""
        return self.root / "data"

    @property
    def work(self) -> Path:
        """Intermediate files (the scorer's training pairs)."""
        return self.root / "work"

    @property
    def bi_encoder(self) -> Path:
        """The bi-encoder bundle with its item index."""
        return self.root / "models" / "bi-encoder"

    @property
    def scorer(self) -> Path:
        """The cross-encoder score bundle."""
        return self.root / "models" / "scorer"

    @property
    def ranker(self) -> Path:
        """The fitted ranking model."""
        return self.root / "models" / "ranker.joblib"

    @property
    def report(self) -> Path:
        """Data counts, timings and test figures of the last `train`."""
        return self.root / "models" / "report.json"

    def check_trained(self) -> None:
        """Raise BundleError unless `train` has written every model."""
        missing = [p.name for p in (self.bi_encoder, self.scorer, self.ranker) if not p.exists()]
        if missing:
            raise BundleError(
                f"Application '{self.root}' has no trained {', '.join(missing)}.",
                hint=f"Run `bizlm app recommend train {self.root}` first.",
            )
