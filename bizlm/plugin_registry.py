"""A registry of named plugins of one kind: adaptation methods, task types, continual
strategies, bundle runtimes.

A registry never imports its plugins. The built-in ones are registered by one function of
:mod:`bizlm.builtins`, named by its dotted path so that this low layer does not import the
layers above it; that function runs once, the first time the registry is read or written.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from typing import TypeVar

from bizlm.errors import BizlmError

T = TypeVar("T")


class DuplicatePluginError(BizlmError):
    """Two plugins of one kind were registered under the same name."""


class Registry(Mapping[str, T]):
    """Plugins of one kind by name, read like a dict (``name in registry``, ``registry[name]``).

    ``builtins`` is the ``module:function`` that registers the built-in plugins.
    """

    def __init__(self, kind: str, builtins: str) -> None:
        self.kind = kind
        self._builtins = builtins
        self._plugins: dict[str, T] = {}
        self._lock = threading.RLock()
        self._state = "empty"  # then "loading", then "loaded"

    def add(self, name: str, plugin: T) -> None:
        """Register ``plugin`` under ``name``; a name taken by another plugin is refused."""
        self._load_builtins()
        with self._lock:
            if name in self._plugins:
                raise DuplicatePluginError(
                    f"Two plugins register the {self.kind} '{name}': "
                    f"{_module_of(self._plugins[name])} (registered first) and "
                    f"{_module_of(plugin)}.",
                    hint=f"Give one of them another {self.kind} name.",
                )
            self._plugins[name] = plugin

    def __getitem__(self, name: str) -> T:
        self._load_builtins()
        return self._plugins[name]

    def __iter__(self) -> Iterator[str]:
        self._load_builtins()
        return iter(dict(self._plugins))

    def __len__(self) -> int:
        self._load_builtins()
        return len(self._plugins)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self)})"

    def _load_builtins(self) -> None:
        """Run the ``builtins`` function once; calls it makes while running pass through."""
        if self._state == "loaded":
            return
        with self._lock:
            if self._state != "empty":
                return
            self._state = "loading"
            try:
                module, function = self._builtins.split(":")
                getattr(importlib.import_module(module), function)()
            except BaseException:
                self._plugins.clear()  # a later read retries from the start
                self._state = "empty"
                raise
            self._state = "loaded"


def _module_of(plugin: object) -> str:
    """The module that defines ``plugin`` (a class or a function)."""
    return str(getattr(plugin, "__module__", None) or type(plugin).__module__)
