"""The model server behind ``bizlm serve``: FastAPI app, micro-batching, auth, limits, metrics.

``from bizlm.serve import create_app, ServeSettings`` builds the ASGI app without the CLI;
FastAPI and torch are imported only when one of those names is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ServeSettings", "create_app"]

if TYPE_CHECKING:
    from bizlm.serve.app import create_app
    from bizlm.serve.settings import ServeSettings

_LAZY = {"create_app": "bizlm.serve.app", "ServeSettings": "bizlm.serve.settings"}


def __getattr__(name: str) -> Any:
    """Import the server modules only when one of their names is first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bizlm.serve' has no attribute {name!r}")
