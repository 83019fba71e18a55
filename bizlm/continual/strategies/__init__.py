"""Continual-learning strategies; each module registers itself with ``register_strategy``."""

from bizlm.continual.strategies import (  # noqa: F401  (registration)
    adapters,
    ewc,
    lwf,
    naive,
    replay,
)
from bizlm.continual.strategies.base import (
    STRATEGIES,
    Strategy,
    UpdateContext,
    build_strategy,
    register_strategy,
)

__all__ = ["STRATEGIES", "Strategy", "UpdateContext", "build_strategy", "register_strategy"]
