"""The model bundle: one directory holding everything a trained model needs.

Layout: ``model/`` (plain transformers, adapters merged), ``adapter/`` (when a PEFT method was
used), ``bizlm.json`` (recipe, labels, metrics, data checksums, versions, lineage),
``metrics.json``, ``MODEL_CARD.md`` and ``report.html``. Written to a temporary directory and
renamed into place, so a crash never leaves half a bundle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from bizlm.atomic import atomic_directory
from bizlm.bundle_files import check_model_files
from bizlm.bundle_info import BUNDLE_FORMAT, INFO_FILE, BundleInfo, parse_info
from bizlm.errors import BundleError

TRACKED_PACKAGES = ("bizlm", "torch", "transformers", "peft", "accelerate", "tokenizers")


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide how a bundle was made."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_bundle(
    target: Path,
    info: BundleInfo,
    write_contents: Callable[[Path], None],
) -> Path:
    """Create the bundle at ``target`` atomically.

    ``write_contents(staging_dir)`` writes ``model/``, ``adapter/``, reports and so on; this
    function adds ``bizlm.json`` (``info`` stamped with this format and the package versions)
    and ``metrics.json`` and then moves the whole folder in place.
    """
    target = Path(target)
    stamped = {"format": BUNDLE_FORMAT, "versions": package_versions(), **info.as_json()}
    with atomic_directory(target) as staging:
        write_contents(staging)
        (staging / INFO_FILE).write_text(json.dumps(stamped, indent=2, default=str) + "\n")
        (staging / "metrics.json").write_text(json.dumps(info.metrics, indent=2) + "\n")
    return target


def read_bundle_info(path: Path | str) -> BundleInfo:
    """Read ``bizlm.json`` of a bundle, or say clearly why the folder is not a bundle or which
    of its files is damaged (see :func:`bizlm.bundle_files.check_model_files`)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"Bundle '{path}' does not exist.", hint="Train one with `bizlm train`.")
    info_path = path / INFO_FILE
    if not path.is_dir() or not info_path.is_file() or not (path / "model").is_dir():
        raise BundleError(
            f"'{path}' is not a bizlm bundle (no {INFO_FILE} and model/ inside).",
            hint="Pass the output folder of `bizlm train`.",
        )
    try:
        raw = json.loads(info_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(
            f"{info_path} is damaged, not JSON: {exc}.", hint="Retrain the bundle."
        ) from None
    info = parse_info(raw, info_path)
    check_model_files(path)
    return info
