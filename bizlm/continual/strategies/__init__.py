"""Continual-learning strategies: the contract, and the registry ``bizlm update`` looks them up in.

The built-in strategies are registered by :mod:`bizlm.builtins` when the registry is first used;
a plugin adds its own with :func:`register_strategy`.
"""

from bizlm.continual.strategies.base import (
    STRATEGIES,
    Strategy,
    UpdateContext,
    build_strategy,
    register_strategy,
)

__all__ = ["STRATEGIES", "Strategy", "UpdateContext", "build_strategy", "register_strategy"]
