"""The registry: versions, stages, atomic promotion, rollback, removal, and its CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bizlm.cli import run
from bizlm.errors import BundleError
from bizlm.registry.db import RegistryError
from bizlm.registry.store import Registry


def stages(registry: Registry, name: str) -> dict[int, str]:
    return {v.version: v.stage for v in registry.list(name)}


def test_add_copies_labels_metrics_and_lineage(registry_url: str, tiny_bundles: list[Path]):
    registry = Registry(registry_url)
    version = registry.add("tweets", tiny_bundles[0])
    assert (version.name, version.version, version.stage) == ("tweets", 1, "staging")
    info = json.loads((tiny_bundles[0] / "bizlm.json").read_text())
    assert version.labels == info["labels"]
    assert version.metrics["accuracy"] == info["metrics"]["accuracy"]
    assert version.lineage["created"] == info["created"]
    assert version.lineage["backbone"] == info["backbone"]
    assert version.bundle == str(tiny_bundles[0].resolve())
    assert registry.add("tweets", tiny_bundles[1]).version == 2
    assert registry.add("other", tiny_bundles[1]).version == 1  # numbering is per name


def test_add_refuses_non_bundles_bad_names_and_duplicates(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path
):
    registry = Registry(registry_url)
    with pytest.raises(BundleError):
        registry.add("tweets", tmp_path)
    with pytest.raises(RegistryError, match="not allowed"):
        registry.add("no/slash", tiny_bundles[0])
    with pytest.raises(RegistryError, match="Unknown stage"):
        registry.add("tweets", tiny_bundles[0], stage="live")
    registry.add("tweets", tiny_bundles[0])
    with pytest.raises(RegistryError, match="already tweets version 1"):
        registry.add("tweets", tiny_bundles[0])


def test_promote_archives_previous_production_and_rollback_restores_it(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path
):
    registry = Registry(registry_url)
    third = tmp_path / "third"
    shutil.copytree(tiny_bundles[0], third)
    (third / "bizlm.json").write_text((third / "bizlm.json").read_text() + " ")
    for bundle in (*tiny_bundles, third):
        registry.add("tweets", bundle)
    registry.promote("tweets", 1)
    registry.promote("tweets", 2)
    assert stages(registry, "tweets") == {1: "archived", 2: "production", 3: "staging"}
    registry.promote("tweets", 3)
    assert stages(registry, "tweets") == {1: "archived", 2: "archived", 3: "production"}
    assert registry.rollback("tweets").version == 2
    assert stages(registry, "tweets") == {1: "archived", 2: "production", 3: "archived"}
    assert registry.rollback("tweets").version == 1  # a second rollback goes further back
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback("tweets")
    assert registry.production()["tweets"].version == 1


def test_promotion_errors_leave_the_registry_unchanged(registry_url: str, tiny_bundles):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    with pytest.raises(RegistryError, match="already in production"):
        registry.promote("tweets", 1)
    with pytest.raises(RegistryError, match="not in the registry"):
        registry.promote("tweets", 9)
    with pytest.raises(RegistryError, match="no production version"):
        registry.rollback("other")
    assert stages(registry, "tweets") == {1: "production"}


def test_one_production_version_is_enforced_by_the_database(registry_url: str, tiny_bundles):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from bizlm.registry.db import ModelVersionRow, engine_for

    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    registry.add("tweets", tiny_bundles[1])
    with pytest.raises(IntegrityError), engine_for(registry_url).begin() as connection:
        connection.execute(update(ModelVersionRow).values(stage="production"))
    assert stages(registry, "tweets") == {1: "production", 2: "staging"}


def test_remove_refuses_the_production_version(registry_url: str, tiny_bundles):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    registry.add("tweets", tiny_bundles[1])
    with pytest.raises(RegistryError, match="in production"):
        registry.remove("tweets", 1)
    registry.remove("tweets", 2)
    assert stages(registry, "tweets") == {1: "production"}
    assert tiny_bundles[1].is_dir()  # the bundle itself is kept


def test_unusable_registry_url_is_a_clear_error():
    with pytest.raises(RegistryError, match="Cannot use registry URL"):
        Registry("nosuchdb://x").list()


def test_cli_flow(registry_url: str, tiny_bundles: list[Path], capsys):
    base = ["--registry", registry_url]
    assert run(["registry", "add", "tweets", str(tiny_bundles[0]), *base]) == 0
    assert run(["registry", "add", "tweets", str(tiny_bundles[1]), "--json", *base]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["version"] == 2
    assert run(["registry", "promote", "tweets", "1", "--stage", "production", *base]) == 0
    assert run(["registry", "promote", "tweets", "2", *base]) == 0
    assert run(["registry", "rollback", "tweets", *base]) == 0
    capsys.readouterr()
    assert run(["registry", "list", "tweets", "--json", *base]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["stage"]) for v in listed] == [(1, "production"), (2, "archived")]
    assert run(["registry", "remove", "tweets", "2", *base]) == 0
    assert run(["registry", "remove", "tweets", "1", *base]) == 2
    assert "in production" in capsys.readouterr().err
    assert run(["registry", "list", *base]) == 0
    assert "tweets" in capsys.readouterr().out


def test_cli_uses_the_default_registry_under_bizlm_home(tiny_bundles, tmp_path: Path, capsys):
    assert run(["registry", "add", "tweets", str(tiny_bundles[0])]) == 0
    assert (tmp_path / "home" / "registry.db").is_file()


def test_the_registry_database_is_created_private(tmp_path: Path):
    import os
    import stat

    database = tmp_path / "private" / "registry.db"
    previous = os.umask(0o022)
    try:
        Registry(f"sqlite:///{database}").list()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_a_registry_made_before_manifests_gains_the_column_and_keeps_its_versions(
    tmp_path: Path, tiny_bundles: list[Path]
):
    import hashlib
    import sqlite3

    database = tmp_path / "old.db"
    Registry(f"sqlite:///{database}").add("tweets", tiny_bundles[0])
    info_digest = hashlib.sha256((tiny_bundles[0] / "bizlm.json").read_bytes()).hexdigest()
    with sqlite3.connect(database) as connection:  # as an earlier bizlm wrote it
        connection.execute("ALTER TABLE model_versions DROP COLUMN manifest")
        connection.execute("UPDATE model_versions SET fingerprint = ?", (info_digest,))
    reopened = Registry(f"sqlite+pysqlite:///{database}")  # a new engine, as after an upgrade
    (old,) = reopened.list("tweets")
    assert old.manifest is None
    assert reopened.promote("tweets", 1).stage == "production"
    assert reopened.add("tweets", tiny_bundles[1]).manifest is not None
