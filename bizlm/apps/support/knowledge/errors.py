"""The errors of the knowledge base."""

from bizlm.apps.support.errors import SupportProjectError


class KnowledgeBaseError(SupportProjectError):
    """The docs folder, the index or a search request cannot be used as it is."""


class UnreadableDocument(Exception):
    """A document that is skipped: :attr:`reason` says why (reported, never raised to users)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
