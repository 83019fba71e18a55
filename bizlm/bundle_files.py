"""The files of a bundle: a checksum manifest, and a quick check that the model files are whole.

The manifest maps each file's path inside the bundle (``model/config.json``) to its size and
SHA-256, hashed in chunks so bundles of any size are read without holding a file in memory.
:func:`check_model_files` is the quick check every bundle gets before it is loaded: the model's
``config.json`` exists, every JSON file parses and every safetensors file is complete.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open

from bizlm.errors import BundleError

Manifest = dict[str, dict[str, Any]]
_WHOLE_AGAIN = "Copy the whole bundle folder again, or retrain it with `bizlm train`."


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def bundle_manifest(bundle: Path) -> Manifest:
    """Size and SHA-256 of every file under ``bundle``, by POSIX path relative to it."""
    return {
        path.relative_to(bundle).as_posix(): {
            "size": path.stat().st_size,
            "sha256": file_sha256(path),
        }
        for path in sorted(bundle.rglob("*"))
        if path.is_file()
    }


def manifest_fingerprint(manifest: Manifest) -> str:
    """One SHA-256 for a whole manifest: equal exactly when every file is equal."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify_manifest(bundle: Path, manifest: Manifest) -> None:
    """Raise :class:`BundleError` naming the first file of ``manifest`` that is missing or
    differs under ``bundle``."""
    for relative, expected in sorted(manifest.items()):
        path = bundle / relative
        if not path.is_file():
            problem = "is missing"
        elif (size := path.stat().st_size) != expected["size"]:
            problem = f"has {size} bytes, {expected['size']} when it was registered"
        elif file_sha256(path) != expected["sha256"]:
            problem = "has different content than when it was registered"
        else:
            continue
        raise BundleError(
            f"{path} {problem}.",
            hint="Restore the bundle as it was registered, or register the new bundle as a "
            "new version.",
        )


def check_model_files(bundle: Path) -> None:
    """Raise :class:`BundleError` naming the file when the model's ``config.json`` is missing,
    a JSON file does not parse or a safetensors file is truncated or not safetensors."""
    config = bundle / "model" / "config.json"
    if not config.is_file():
        raise BundleError(f"{config} is missing, so the model cannot be built.", hint=_WHOLE_AGAIN)
    for path in sorted(bundle.rglob("*.json")):
        try:
            json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{path} is damaged: {exc}.", hint=_WHOLE_AGAIN) from None
    for path in sorted(bundle.rglob("*.safetensors")):
        try:
            with safe_open(path, framework="numpy"):
                pass
        except SafetensorError as exc:
            raise BundleError(
                f"{path} is truncated or not a safetensors file ({exc}).", hint=_WHOLE_AGAIN
            ) from None
