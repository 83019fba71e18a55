"""Adaptation methods: the contract, and the registry recipes look methods up in.

The built-in methods are registered by :mod:`bizlm.builtins` when the registry is first used;
a plugin adds its own with :func:`register_method`.
"""

from bizlm.methods.base import (
    METHODS,
    AdaptationMethod,
    BuiltModel,
    MethodConfig,
    TrainingPlan,
    build_method,
    check_task,
    count_parameters,
    method_class,
    method_config_class,
    register_method,
)

__all__ = [
    "METHODS",
    "AdaptationMethod",
    "BuiltModel",
    "MethodConfig",
    "TrainingPlan",
    "build_method",
    "check_task",
    "count_parameters",
    "method_class",
    "method_config_class",
    "register_method",
]
