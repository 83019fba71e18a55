"""Fixtures for the model server: two tiny trained bundles, an isolated registry, apps."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_rows, one_epoch_recipe, write_csv
from tests.tasks.conftest import tiny_chat_model_dir  # noqa: F401  (the fixture, shared)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own bizlm home, so the default registry is never the user's."""
    monkeypatch.setenv("BIZLM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BIZLM_REGISTRY", raising=False)


@pytest.fixture(scope="session")
def tiny_bundles(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A bundle of the tiny model trained for one epoch, and a retrained copy of it.

    The copy differs only in ``bizlm.json`` (as a retrained bundle would), which is enough to be
    a new registry version; the server tells versions apart by the number it reports.
    """
    import bizlm

    folder = tmp_path_factory.mktemp("serve-bundles")
    data = write_csv(folder / "train.csv", make_rows(240, seed=1))
    recipe = one_epoch_recipe(tiny_model_dir, data, folder / "tiny-1")
    first = Path(bizlm.train(recipe).bundle)
    second = folder / "tiny-2"
    shutil.copytree(first, second)
    info = json.loads((second / "bizlm.json").read_text())
    info["created"] = "2030-01-01T00:00:00+00:00"
    info["parent"] = {"bundle": str(first)}
    (second / "bizlm.json").write_text(json.dumps(info, indent=2))
    return [first, second]


@pytest.fixture()
def registry_url(tmp_path: Path) -> str:
    """A fresh SQLite registry."""
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture()
def make_client(registry_url: str) -> Iterator:
    """Start apps with given settings (registry defaults to ``registry_url``); stop them after."""
    from bizlm.serve.app import create_app
    from bizlm.serve.settings import ServeSettings

    clients: list[TestClient] = []

    def start(**settings) -> TestClient:
        settings.setdefault("registry_url", registry_url)
        client = TestClient(create_app(ServeSettings(**settings)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture()
def open_client(make_client, tiny_bundles: list[Path]) -> TestClient:
    """No-auth server for the first tiny bundle, served as 'tiny-1'."""
    return make_client(bundles=(tiny_bundles[0],), auth=False)


def batches_run(metrics_text: str, model: str) -> float:
    """How many micro-batches the server ran for ``model``, read from its /metrics page."""
    prefix = f'bizlm_batch_size_count{{model="{model}"}}'
    values = [line.split()[-1] for line in metrics_text.splitlines() if line.startswith(prefix)]
    assert values, f"no batch count for {model} in the metrics"
    return float(values[0])


def forbid_server_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the server's bundle loader fail: a model it serves must have been handed over."""

    def no_second_load(path: object, *args: object) -> None:
        raise AssertionError(f"the server loaded {path} again")

    monkeypatch.setattr("bizlm.serve.served.load", no_second_load)


@pytest.fixture(scope="session")
def tiny_generate_bundle(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A generate bundle of the tiny random Llama (one quick epoch: its answers are noise),
    with max_length 24 so that long prompts are cut; served under its folder name 'chat'."""
    import bizlm

    model = request.getfixturevalue("tiny_chat_model_dir")  # a random Llama, tests/tasks
    folder = tmp_path_factory.mktemp("serve-generate")
    rows = [{"prompt": "say hello to anna", "response": "hello anna"}] * 8
    train = folder / "train.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    recipe = {
        "model": str(model),
        "task": {"type": "generate"},
        "data": {"train": str(train)},
        "method": "full",
        "train": {
            "epochs": 1,
            "batch_size": 8,
            "max_length": 24,
            "learning_rate": 1e-4,
            "warmup_ratio": 0.0,
            "early_stopping_patience": None,
        },
        "output": str(folder / "chat"),
    }
    return Path(bizlm.train(recipe).bundle)
