"""Adaptation methods; each module registers itself with :func:`register_method`."""

from bizlm.methods import full, lora  # noqa: F401  (registration)
from bizlm.methods.base import (
    METHODS,
    AdaptationMethod,
    MethodConfig,
    build_method,
    count_parameters,
    method_class,
    method_config_class,
    register_method,
)

__all__ = [
    "METHODS",
    "AdaptationMethod",
    "MethodConfig",
    "build_method",
    "count_parameters",
    "method_class",
    "method_config_class",
    "register_method",
]
