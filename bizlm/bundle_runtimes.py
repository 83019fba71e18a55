"""Which function opens a bundle for prediction: the loader registered for its runtime.

A bundle's ``bizlm.json`` names its runtime (``transformers`` unless an export wrote another).
Each runtime registers a loader under its name; a runtime may also register a loader for one
kind of bundle, under ``<runtime>/<kind>`` (``transformers/prompt`` serves the bundles that
score labels with a prompted language model). The built-in loaders are registered by
:mod:`bizlm.builtins`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bizlm.errors import BundleError
from bizlm.ngram_model import NGRAM_DIR, Blend, NgramModel
from bizlm.plugin_registry import Registry

if TYPE_CHECKING:
    from bizlm.bundle_info import BundleInfo

#: opens the bundle at a path, given its ``bizlm.json``, and returns its predictor
BundleLoader = Callable[[Path, "BundleInfo"], Any]

#: loaders by runtime name, or by ``<runtime>/<kind>`` for one kind of bundle
RUNTIMES: Registry[BundleLoader] = Registry("runtime", "bizlm.builtins:register_runtimes")

PROMPT_KIND = "prompt"


def register_runtime(name: str, loader: BundleLoader) -> None:
    """Open the bundles of runtime ``name`` (or of ``<runtime>/<kind>``) with ``loader``."""
    RUNTIMES.add(name, loader)


def runtime_names() -> list[str]:
    """The runtimes a bundle may name, sorted."""
    return sorted({name.split("/")[0] for name in RUNTIMES})


def bundle_loader(path: str | Path, info: BundleInfo) -> BundleLoader:
    """The loader for the bundle at ``path``; a runtime no package registered is refused,
    naming the runtimes that exist."""
    runtime = info.runtime
    if runtime not in runtime_names():
        raise BundleError(
            f"Bundle '{path}' needs runtime '{runtime}', which this bizlm does not know "
            f"(it knows {', '.join(runtime_names())}).",
            hint="Upgrade bizlm, or re-export the bundle.",
        )
    kind = f"{runtime}/{PROMPT_KIND}"
    if info.prompt and kind in RUNTIMES:
        return RUNTIMES[kind]
    return RUNTIMES[runtime]


def open_bundle(path: str | Path, info: BundleInfo) -> Any:
    """The predictor of the bundle at ``path`` whose ``bizlm.json`` is ``info``."""
    return with_blend(bundle_loader(path, info)(Path(path), info), path, info)


def with_blend(predictor: Any, path: str | Path, info: BundleInfo) -> Any:
    """``predictor``, mixing in the n-gram model that the ``blend`` of the bundle at ``path``
    names (unchanged when the bundle blends nothing)."""
    if info.blend and info.blend.get("weight"):
        ngram = NgramModel.load(Path(path) / info.blend.get("ngram", NGRAM_DIR))
        predictor.blend = Blend(ngram, float(info.blend["weight"]))
    return predictor
