"""Adaptation methods; each module registers its methods with :func:`register_method`."""

from bizlm.methods import (  # noqa: F401  (registration)
    bottleneck,
    full,
    lora,
    partial,
    prompt_learning,
    scaling,
)
from bizlm.methods.base import (
    METHODS,
    AdaptationMethod,
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
    "MethodConfig",
    "TrainingPlan",
    "build_method",
    "check_task",
    "count_parameters",
    "method_class",
    "method_config_class",
    "register_method",
]
