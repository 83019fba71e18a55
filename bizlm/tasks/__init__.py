"""Task types: each module registers its task class (see :func:`register_task`)."""

from bizlm.tasks import classify, score, tag  # noqa: F401  (registration)
from bizlm.tasks.base import (
    TASKS,
    Examples,
    Task,
    build_task,
    register_task,
    task_from_info,
    variant,
)

__all__ = ["TASKS", "Examples", "Task", "build_task", "register_task", "task_from_info", "variant"]
