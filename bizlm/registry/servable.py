"""Whether a bundle can be served: checked before a version is added or made production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.bundle import read_bundle_info
from bizlm.errors import BizlmError, BundleError
from bizlm.registry.db import RegistryError


class PromotionRefused(RegistryError):
    """A version was not made production because it cannot be served (exit code 3)."""

    exit_code = 3


def load_servable(path: Path) -> Any:
    """Load a bundle as the model server does; any failure is a :class:`BizlmError` saying why.

    Imports the model libraries on first use, so registry commands that load nothing stay quick.
    """
    from bizlm.predictor import load  # torch, transformers: registry commands stay quick
    from bizlm.tasks.base import require_single_label  # torch: as above

    try:
        require_single_label(path, read_bundle_info(path), "serving")
        return load(path)
    except BizlmError:
        raise
    except Exception as exc:  # whatever stops the bundle from loading is the reason it cannot serve
        raise BundleError(
            f"Bundle '{path}' cannot be served: {type(exc).__name__}: {exc}",
            hint="Load it with `bizlm predict` to investigate, or retrain it.",
        ) from None
