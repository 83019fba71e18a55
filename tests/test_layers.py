"""The import contract of pyproject.toml holds, and breaks on an import that points up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the ``bizlm`` package under ``tree`` with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True
    )


def test_the_package_keeps_its_layers():
    answer = lint_imports(ROOT)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "0 broken" in answer.stdout


def test_an_import_that_points_up_breaks_the_contract(tmp_path):
    shutil.copytree(
        ROOT / "bizlm", tmp_path / "bizlm", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    errors = tmp_path / "bizlm" / "errors.py"
    errors.write_text(errors.read_text() + "\nimport bizlm.training.loop  # noqa: E402,F401\n")
    answer = lint_imports(tmp_path)
    assert answer.returncode == 1
    assert "Layers: every import points down BROKEN" in answer.stdout
    assert "bizlm.errors -> bizlm.training.loop" in answer.stdout


HIGHER = ("bizlm.tasks", "bizlm.training", "bizlm.continual", "bizlm.compress", "bizlm.serve")


@pytest.mark.parametrize(
    ("module", "higher"),
    [
        ("bizlm.errors", ("bizlm.",)),  # the core's base: no other bizlm module
        ("bizlm.recipe", (*HIGHER, "bizlm.predictor", "bizlm.data")),
        ("bizlm.data", (*HIGHER, "bizlm.predictor")),
        ("bizlm.predictor", HIGHER),
    ],
)
def test_a_lower_layer_imports_nothing_above_it(module, higher):
    code = (
        f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('bizlm')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    above = [m for m in loaded if m != module and m.startswith(higher)]
    assert above == []
