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
from bizlm.prompting import methods as _prompting  # noqa: F401  (registration)

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
