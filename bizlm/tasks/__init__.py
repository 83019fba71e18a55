"""Task types: the contract, and the registry recipes look task variants up in.

The built-in tasks are registered by :mod:`bizlm.builtins` when the registry is first used;
a plugin adds its own with :func:`register_task`.
"""

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
