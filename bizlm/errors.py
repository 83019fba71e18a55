"""Errors a user can fix: each says what is wrong, where, and what to do.

The CLI turns any :class:`BizlmError` into a one-line message and exit code 2 (or the
error's own ``exit_code``); the server turns it into an HTTP 4xx answer.
"""

from __future__ import annotations


class BizlmError(Exception):
    """Base class for every error caused by user input or user environment."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class RecipeError(BizlmError):
    """The recipe (YAML or --set override) names an unknown key or a bad value."""


class DataError(BizlmError):
    """A data file is missing, unreadable, malformed or lacks a needed column."""


class CatalogError(BizlmError):
    """A catalog dataset name is unknown or the dataset could not be fetched."""


class ModelReferenceError(BizlmError):
    """A model reference is neither an alias, a local directory nor a reachable hub id."""


class BundleError(BizlmError):
    """A directory is not a bizlm bundle, or the bundle is damaged."""


class TrainingInterrupted(BizlmError):
    """Training stopped by the user (Ctrl-C); the best checkpoint so far was kept."""

    exit_code = 130
