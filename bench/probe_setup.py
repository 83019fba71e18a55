"""Cheap fixtures for the probe: the tests' tiny random BERT, a bundle of it, broken copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from tests.conftest import make_rows, one_epoch_recipe, write_csv


def tiny_recipe(model: Path, work: Path, output: Path, rows: int = 60) -> dict:
    """A recipe that trains the tiny model for one epoch on ``rows`` word-list texts."""
    data = write_csv(work / f"train-{rows}.csv", make_rows(rows, seed=1))
    return one_epoch_recipe(model, data, output)


def write_recipe(path: Path, recipe: dict, encoding: str = "utf-8") -> Path:
    """Write a recipe as YAML in ``encoding`` (``utf-16`` writes a byte-order mark)."""
    path.write_bytes(yaml.safe_dump(recipe, allow_unicode=True).encode(encoding))
    return path


def train_bundle(model: Path, work: Path) -> Path:
    """Train the tiny model in this process (the test fixtures' code path); return the bundle."""
    import bizlm

    return Path(bizlm.train(tiny_recipe(model, work, work / "tiny", rows=240)).bundle)


def weights_file(bundle: Path) -> Path:
    """The bundle's largest ``*.safetensors`` file (the model weights)."""
    files = sorted(bundle.rglob("*.safetensors"), key=lambda p: p.stat().st_size)
    if not files:
        raise FileNotFoundError(f"no safetensors file in {bundle}")
    return files[-1]


def truncate_weights(bundle: Path) -> Path:
    """Cut the bundle's weights file to a third of its size, in place; return the file."""
    weights = weights_file(bundle)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 3])
    return weights


def broken_copy(bundle: Path, target: Path, defect: str) -> Path:
    """A copy of ``bundle`` with ``defect``: ``truncated`` weights or ``no-config``."""
    shutil.copytree(bundle, target)
    if defect == "truncated":
        truncate_weights(target)
    elif defect == "no-config":
        configs = [p for p in target.rglob("config.json") if p.parent != target]
        if not configs:
            raise FileNotFoundError(f"no model config.json under {target}")
        for config in configs:
            config.unlink()
    else:
        raise ValueError(f"unknown defect {defect!r}")
    return target


def renamed_copy(bundle: Path, target: Path) -> Path:
    """A copy of ``bundle`` that is a distinct registry version (a newer ``created`` stamp)."""
    shutil.copytree(bundle, target)
    info_path = target / "bizlm.json"
    info = json.loads(info_path.read_text())
    info["created"] = "2030-01-01T00:00:00+00:00"
    info_path.write_text(json.dumps(info, indent=2))
    return target
