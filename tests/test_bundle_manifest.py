"""The manifest of a bundle's files, and the quick check that its model files are whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from bizlm.bundle_files import (
    bundle_manifest,
    check_model_files,
    manifest_fingerprint,
    verify_manifest,
)
from bizlm.errors import BundleError


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    """A folder laid out like a bundle: info, a model config and safetensors weights."""
    folder = tmp_path / "bundle"
    (folder / "model").mkdir(parents=True)
    (folder / "bizlm.json").write_text('{"labels": ["a", "b"]}')
    (folder / "model" / "config.json").write_text('{"model_type": "bert"}')
    save_file({"weight": np.arange(4096, dtype=np.float32)}, folder / "model" / "model.safetensors")
    return folder


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_manifest_lists_every_file_with_size_and_sha256(bundle: Path) -> None:
    manifest = bundle_manifest(bundle)
    assert sorted(manifest) == ["bizlm.json", "model/config.json", "model/model.safetensors"]
    weights = (bundle / "model" / "model.safetensors").read_bytes()
    assert manifest["model/model.safetensors"] == {
        "size": len(weights),
        "sha256": hashlib.sha256(weights).hexdigest(),
    }


def test_fingerprint_changes_with_any_file_not_only_the_info_file(bundle: Path) -> None:
    before = manifest_fingerprint(bundle_manifest(bundle))
    assert manifest_fingerprint(bundle_manifest(bundle)) == before
    truncate(bundle / "model" / "model.safetensors")
    assert manifest_fingerprint(bundle_manifest(bundle)) != before


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: truncate(b / "model" / "model.safetensors"), "model.safetensors has"),
        (lambda b: (b / "model" / "config.json").unlink(), "config.json is missing"),
        (
            lambda b: (b / "model" / "config.json").write_text('{"model_type": "xyzw"}'),
            "config.json has different content",
        ),
    ],
)
def test_verify_names_the_file_that_changed(bundle: Path, damage, message: str) -> None:
    manifest = bundle_manifest(bundle)
    verify_manifest(bundle, manifest)
    damage(bundle)
    with pytest.raises(BundleError, match=message) as refused:
        verify_manifest(bundle, manifest)
    assert str(bundle / "model") in str(refused.value)


def test_complete_model_files_pass_the_quick_check(bundle: Path) -> None:
    check_model_files(bundle)


def test_a_missing_model_config_is_named(bundle: Path) -> None:
    (bundle / "model" / "config.json").unlink()
    with pytest.raises(BundleError, match=r"model/config.json is missing"):
        check_model_files(bundle)


def test_truncated_safetensors_are_named(bundle: Path) -> None:
    truncate(bundle / "model" / "model.safetensors", keep=0.9)
    with pytest.raises(BundleError, match=r"model/model.safetensors is truncated"):
        check_model_files(bundle)


def test_a_damaged_json_file_is_named(bundle: Path) -> None:
    (bundle / "model" / "tokenizer_config.json").write_text('{"model_max_length": ')
    with pytest.raises(BundleError, match=r"model/tokenizer_config.json is damaged"):
        check_model_files(bundle)
