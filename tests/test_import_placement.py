"""bizlm modules import each other at their top. An import of a bizlm module inside a function
stays only with a comment saying why it waits for first use: an optional dependency, a heavy
one that a quick path must not load, or an import cycle."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import bizlm

PACKAGE = Path(bizlm.__file__).parent


def imports_bizlm(node: ast.Import | ast.ImportFrom) -> bool:
    """Whether ``node`` imports a bizlm module (relative imports included)."""
    if isinstance(node, ast.ImportFrom):
        return bool(node.level) or (node.module or "").split(".")[0] == "bizlm"
    return any(alias.name.split(".")[0] == "bizlm" for alias in node.names)


def function_level_imports(source: str) -> list[ast.Import | ast.ImportFrom]:
    """The imports of bizlm modules made inside a function of ``source``."""
    found: dict[int, ast.Import | ast.ImportFrom] = {}
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and imports_bizlm(node):
                    found[node.lineno] = node
    return [found[line] for line in sorted(found)]


def unexplained(source: str) -> list[int]:
    """Lines of function-level bizlm imports with no comment on them or on the line above."""
    lines = source.splitlines()
    missing = []
    for node in function_level_imports(source):
        above = lines[node.lineno - 2].strip()
        own = lines[node.lineno - 1 : node.end_lineno]
        comments = [line.split("#", 1)[1].strip() for line in own if "#" in line]
        if not above.startswith("#") and not any(
            comment and not comment.startswith("noqa") for comment in comments
        ):
            missing.append(node.lineno)
    return missing


def test_a_function_level_import_of_bizlm_says_why() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in unexplained(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "move these imports to the module's top, or say why they wait: " + (
        ", ".join(found)
    )


def test_the_check_flags_a_plain_deferred_import_and_accepts_a_commented_one() -> None:
    source = (
        "def plain():\n"
        "    from bizlm.predictor import load\n"
        "\n"
        "def commented():\n"
        "    from bizlm.predictor import load  # torch: at first use\n"
        "\n"
        "def noqa_only():\n"
        "    import bizlm  # noqa: F401\n"
    )
    assert unexplained(source) == [2, 8]


def test_the_paths_the_deferred_imports_keep_quick_load_no_torch() -> None:
    script = (
        "import sys\n"
        "import bizlm.backbones, bizlm.data.text_checks, bizlm.init.plan, bizlm.pii\n"
        "import bizlm.registry.store, bizlm.registry.versions\n"
        "print(sorted({'torch', 'transformers'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
    )
    assert result.stdout.strip() == "[]"
