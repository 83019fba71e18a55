"""Whether a bundle can be served: checked before a version is added or made production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bizlm.bundle import read_bundle_info
from bizlm.bundle_info import BundleInfo
from bizlm.errors import BizlmError, BundleError
from bizlm.registry.db import RegistryError


class PromotionRefused(RegistryError):
    """A version was not made production because it cannot be served (exit code 3)."""

    exit_code = 3


def require_servable(path: Path, info: BundleInfo) -> None:
    """Refuse a bundle the server cannot answer for: it serves single-label classifiers (the
    predict routes) and generate bundles (the chat and completion routes)."""
    from bizlm.tasks.base import require_single_label  # torch: registry commands stay quick

    if info.task_type != "generate":
        require_single_label(path, info, "serving")


def load_servable(path: Path) -> Any:
    """Load a bundle as the model server does; any failure is a :class:`BizlmError` saying why.

    Imports the model libraries on first use, so registry commands that load nothing stay quick.
    """
    from bizlm.predictor import load  # torch, transformers: registry commands stay quick

    try:
        require_servable(path, read_bundle_info(path))
        return load(path)
    except BizlmError:
        raise
    except Exception as exc:  # whatever stops the bundle from loading is the reason it cannot serve
        raise BundleError(
            f"Bundle '{path}' cannot be served: {type(exc).__name__}: {exc}",
            hint="Load it with `bizlm predict` to investigate, or retrain it.",
        ) from None
