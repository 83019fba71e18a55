"""bizlm: adapt a pretrained language model to a business task and run it in production.

The Python API mirrors the command line::

    import bizlm
    result = bizlm.train("recipes/bbc-lora.yaml")
    model = bizlm.load(result.bundle)
    model.predict(["Shares in the bank fell 5% after the profit warning"])
    bizlm.evaluate(result.bundle, "test.jsonl")
    bizlm.update(result.bundle, "new.jsonl", "runs/bbc-2", strategy="replay")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "evaluate", "load", "load_recipe", "train", "update"]

if TYPE_CHECKING:
    from bizlm.continual.update import update
    from bizlm.evaluation.evaluate_bundle import evaluate
    from bizlm.loading import load
    from bizlm.recipe import load_recipe
    from bizlm.training.run import train

_LAZY = {
    "evaluate": "bizlm.evaluation.evaluate_bundle",
    "load": "bizlm.loading",
    "load_recipe": "bizlm.recipe",
    "train": "bizlm.training.run",
    "update": "bizlm.continual.update",
}


def __getattr__(name: str) -> Any:
    """Import the heavy modules (torch, transformers) only when the API is first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bizlm' has no attribute {name!r}")
