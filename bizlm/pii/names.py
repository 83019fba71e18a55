"""Names and addresses through a named-entity tagger (a bizlm ``tag`` bundle).

Entity types are mapped to kinds by name, case-insensitively: person types (``PER`` in MSRA,
``person`` in WNUT 2016) become ``[NAME]``, place types (``LOC``, ``geo-loc``, ``GPE``,
``facility``) become ``[ADDRESS]``; other types (organisations, products) are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.bundle import read_bundle_info
from bizlm.errors import BundleError
from bizlm.pii.core import PiiMatch

NAME_TYPES = frozenset({"per", "person", "name", "pers"})
ADDRESS_TYPES = frozenset(
    {"loc", "location", "geo-loc", "gpe", "fac", "facility", "address", "addr"}
)


def entity_kind(entity_type: str) -> str | None:
    """``name``, ``address`` or None (not masked) for a tagger's entity type."""
    lowered = entity_type.lower()
    if lowered in NAME_TYPES:
        return "name"
    if lowered in ADDRESS_TYPES:
        return "address"
    return None


class NameMasker:
    """Finds names and addresses with a tag bundle's predictor (anything with ``predict``)."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    @classmethod
    def load(cls, path: str | Path) -> NameMasker:
        """Load a tag bundle that knows person or place entities, or raise a clear error."""
        from bizlm.predictor import load  # torch, transformers: `bizlm.pii.mask` stays light

        info = read_bundle_info(path)
        hint = "Pass a named-entity bundle, e.g. one trained from recipes/names-en.yaml."
        if info.task != "tag":
            raise BundleError(
                f"--mask-names needs a tag (named-entity) bundle; '{path}' is a "
                f"{info.task} bundle.",
                hint=hint,
            )
        types = {label.split("-", 1)[-1] for label in info.labels if label != "O"}
        if not any(entity_kind(t) for t in types):
            raise BundleError(
                f"The tag bundle '{path}' has no person or place entities (it tags "
                f"{sorted(types)}).",
                hint=hint,
            )
        return cls(load(path))

    def find(self, text: str) -> list[PiiMatch]:
        """The names and addresses in ``text`` as matches of kind ``name`` or ``address``."""
        if not text.strip():
            return []
        [result] = self.predictor.predict([text])
        found = []
        for entity in result["entities"]:
            kind = entity_kind(entity["type"])
            if kind is not None:
                start, end = entity["start"], entity["end"]
                found.append(PiiMatch(kind, start, end, text[start:end]))
        return found
