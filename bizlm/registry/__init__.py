"""Model registry: versions with stages (staging, production, archived) and API keys.

``from bizlm.registry import Registry``; SQLAlchemy is imported only when first used, so the
command line stays quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["KeyStore", "ModelVersion", "Registry", "RegistryError"]

if TYPE_CHECKING:
    from bizlm.registry.db import RegistryError
    from bizlm.registry.keys import KeyStore
    from bizlm.registry.store import ModelVersion, Registry

_LAZY = {
    "KeyStore": "bizlm.registry.keys",
    "ModelVersion": "bizlm.registry.store",
    "Registry": "bizlm.registry.store",
    "RegistryError": "bizlm.registry.db",
}


def __getattr__(name: str) -> Any:
    """Import the database modules only when one of their names is first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bizlm.registry' has no attribute {name!r}")
