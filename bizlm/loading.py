"""``bizlm.load``: one bundle, or one backbone serving several adapter bundles."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bizlm.multi_adapter import MultiAdapterPredictor
from bizlm.predictor import load as load_bundle


def load(path: str | Path, adapters: Sequence[str | Path] | None = None) -> Any:
    """Load a bundle for prediction, in the runtime its ``bizlm.json`` names.

    With ``adapters``, ``path`` is the shared backbone (a model reference such as ``default``)
    and each adapter bundle becomes a task served from it: ``predict(texts, adapter=name)``.
    """
    if adapters is not None:
        return MultiAdapterPredictor(str(path), adapters)
    return load_bundle(path)
