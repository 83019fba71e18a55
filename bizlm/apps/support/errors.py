"""The error of a support project's files."""

from bizlm.errors import BizlmError


class SupportProjectError(BizlmError):
    """A support project file is missing, malformed or inconsistent."""
