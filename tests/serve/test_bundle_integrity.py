"""Damaged bundles: refused by the registry, never leave the server serving nothing, and end
predict, evaluate and serve with a clear error."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bizlm.cli import run
from bizlm.errors import BundleError
from bizlm.registry.servable import PromotionRefused
from bizlm.registry.store import Registry
from bizlm.serve.manager import ModelManager
from bizlm.serve.observe import ServerMetrics
from bizlm.serve.settings import ServeSettings
from tests.conftest import make_rows, write_csv

WEIGHTS = "model/model.safetensors"


def copy_bundle(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def stages(registry: Registry, name: str) -> dict[int, str]:
    return {v.version: v.stage for v in registry.list(name)}


def squeezed(text: str) -> str:
    """``text`` without whitespace: the console wraps long paths anywhere."""
    return "".join(text.split())


def fails_cleanly(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> str:
    """Run the CLI, expect ``code`` and an error without a traceback; return it squeezed."""
    capsys.readouterr()
    answer = run(argv)
    message = capsys.readouterr().err
    assert answer == code, message
    assert "Traceback" not in message
    return squeezed(message)


def test_truncated_weights_with_the_same_info_file_are_refused_naming_the_file(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path, capsys
):
    Registry(registry_url).add("tweets", tiny_bundles[0])
    broken = copy_bundle(tiny_bundles[0], tmp_path / "broken")
    truncate(broken / WEIGHTS)
    message = fails_cleanly(
        capsys, ["registry", "add", "tweets", str(broken), "--registry", registry_url], 2
    )
    assert squeezed(f"{broken / WEIGHTS} is truncated") in message
    assert "already" not in message
    assert stages(Registry(registry_url), "tweets") == {1: "staging"}


def test_a_bundle_that_does_not_load_is_not_added(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path
):
    broken = copy_bundle(tiny_bundles[0], tmp_path / "broken")
    (broken / "model" / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(BundleError, match="cannot be loaded"):
        Registry(registry_url).add("tweets", broken)
    assert Registry(registry_url).list() == []


def test_promote_refuses_a_version_changed_since_registration_and_keeps_the_stages(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path, capsys
):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    second = copy_bundle(tiny_bundles[1], tmp_path / "second")
    registry.add("tweets", second)
    truncate(second / WEIGHTS)
    base = ["--registry", registry_url]
    message = fails_cleanly(capsys, ["registry", "promote", "tweets", "2", *base], 3)
    assert squeezed("tweets version 2 was not made production") in message
    assert squeezed(f"{second / WEIGHTS} has") in message
    assert stages(registry, "tweets") == {1: "production", 2: "staging"}


def test_rollback_refuses_a_version_that_no_longer_loads(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path
):
    registry = Registry(registry_url)
    first = copy_bundle(tiny_bundles[0], tmp_path / "first")
    registry.add("tweets", first, stage="production")
    registry.add("tweets", tiny_bundles[1], stage="production")
    (first / "model" / "config.json").unlink()
    with pytest.raises(PromotionRefused, match=r"config\.json is missing"):
        registry.rollback("tweets")
    assert stages(registry, "tweets") == {1: "archived", 2: "production"}


def test_a_restart_serves_the_last_good_version_when_production_cannot_load(
    make_client, registry_url: str, tiny_bundles: list[Path], tmp_path: Path, caplog
):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    second = copy_bundle(tiny_bundles[1], tmp_path / "second")
    registry.add("tweets", second, stage="production")
    third = copy_bundle(tiny_bundles[0], tmp_path / "third")
    (third / "MODEL_CARD.md").write_text("retrained")
    registry.add("tweets", third, stage="production")
    truncate(second / WEIGHTS)
    (third / "model" / "config.json").unlink()
    with caplog.at_level(logging.INFO, logger="bizlm.serve"):
        client = make_client(auth=False, poll_interval_s=3600)
    assert client.get("/readyz").status_code == 200
    models = client.get("/v1/models").json()["models"]
    assert [(m["name"], m["version"]) for m in models] == [("tweets", "1")]
    loud = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert any("cannot load tweets version 3" in m and "config.json" in m for m in loud)
    assert any("serving tweets version 1" in m for m in loud)
    assert client.post("/v1/models/tweets/predict", json={"text": "good"}).json()["version"] == "1"
    readiness = client.get("/readyz").json()["versions"]["tweets"]
    assert readiness["version"] == "1"
    assert readiness["failed"]["version"] == "3"
    assert "config.json" in readiness["failed"]["error"]


def test_an_admin_reload_tries_a_restored_version_again(
    make_client, registry_url: str, tiny_bundles: list[Path], tmp_path: Path
):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    second = copy_bundle(tiny_bundles[1], tmp_path / "second")
    registry.add("tweets", second, stage="production")
    config = second / "model" / "config.json"
    kept = config.read_bytes()
    config.unlink()
    client = make_client(auth=False, poll_interval_s=3600)
    assert client.get("/readyz").json()["versions"]["tweets"]["failed"]["version"] == "2"
    config.write_bytes(kept)
    assert client.post("/v1/admin/reload").json() == {"changed": ["tweets"]}
    assert client.get("/readyz").json()["versions"]["tweets"] == {"version": "2", "failed": None}


def test_a_failed_reload_is_logged_once_and_the_old_version_keeps_serving(
    registry_url: str, tiny_bundles: list[Path], tmp_path: Path, caplog
):
    registry = Registry(registry_url)
    registry.add("tweets", tiny_bundles[0], stage="production")
    second = copy_bundle(tiny_bundles[1], tmp_path / "second")
    registry.add("tweets", second)
    manager = ModelManager(ServeSettings(registry_url=registry_url, auth=False), ServerMetrics())
    manager.load_initial()
    try:
        registry.promote("tweets", 2)
        truncate(second / WEIGHTS)
        with caplog.at_level(logging.ERROR, logger="bizlm.serve"):
            assert [manager.refresh() for _ in range(3)] == [[], [], []]
        failures = [r.getMessage() for r in caplog.records if "version 2" in r.getMessage()]
        assert len(failures) == 1
        assert f"{second / WEIGHTS} has" in failures[0]
        assert manager.models["tweets"].current.version == "1"
        status = manager.status()["tweets"]
        assert status["version"] == "1"
        assert status["failed"]["version"] == "2"
        assert WEIGHTS in status["failed"]["error"]
        registry.rollback("tweets")
        manager.refresh()
        assert manager.status() == {"tweets": {"version": "1"}}
    finally:
        manager.close()


def damaged_copies(source: Path, folder: Path) -> dict[str, Path]:
    missing_config = copy_bundle(source, folder / "missing-config")
    (missing_config / "model" / "config.json").unlink()
    truncated = copy_bundle(source, folder / "truncated")
    truncate(truncated / WEIGHTS)
    return {"model/config.json is missing": missing_config, "is truncated": truncated}


def test_predict_evaluate_and_serve_refuse_damaged_bundles_with_exit_code_2(
    tiny_bundles: list[Path], tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started"))
    data = write_csv(tmp_path / "test.csv", make_rows(12, seed=3))
    for problem, bundle in damaged_copies(tiny_bundles[0], tmp_path).items():
        for argv in (
            ["predict", str(bundle), "good"],
            ["evaluate", str(bundle), "--data", str(data)],
            ["serve", str(bundle), "--no-auth"],
        ):
            message = fails_cleanly(capsys, argv, 2)
            assert squeezed(problem) in message, (argv, message)
            assert str(bundle / "model") in message, (argv, message)
