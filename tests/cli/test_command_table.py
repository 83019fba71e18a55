"""The command table: quick help without importing commands, help lines true to the commands."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bizlm.cli import run
from bizlm.cli.lazy import Entry, load_command
from bizlm.cli.main import COMMANDS

PACKAGE = Path(__file__).resolve().parents[2] / "bizlm"


def _leaves(entries: tuple[Entry, ...] | list[Entry], prefix: str = "") -> list[tuple[str, Entry]]:
    found = []
    for entry in entries:
        found.append((prefix + entry.name, entry))
        if not isinstance(entry.target, str):
            found += _leaves(list(entry.target), prefix + entry.name + " ")
    return found


@pytest.mark.parametrize("path, entry", _leaves(COMMANDS), ids=lambda v: str(v))
def test_each_line_of_help_in_the_table_is_the_commands_own(path: str, entry: Entry) -> None:
    command = load_command(entry)
    assert command.name == entry.name
    assert command.get_short_help_str(limit=1000) == entry.help, path


def test_help_lists_every_command_without_importing_one() -> None:
    script = (
        "import sys; from bizlm.cli import run; code = run(['--help']); "
        "loaded = sorted(m for m in sys.modules if m.startswith('bizlm.cli.') "
        "and m not in ('bizlm.cli.main', 'bizlm.cli.lazy', 'bizlm.cli.output')); "
        "print('LOADED', loaded, 'torch' in sys.modules, code)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "LOADED [] False 0" in done.stdout
    for entry in COMMANDS:
        assert entry.name in done.stdout


def test_an_unknown_command_is_a_usage_error_with_a_suggestion(capsys) -> None:
    assert run(["trian"]) == 2
    assert "Did you mean 'train'?" in capsys.readouterr().err


def test_a_command_runs_through_the_table(capsys) -> None:
    assert run(["data", "list", "--json"]) == 0
    assert '"trec"' in capsys.readouterr().out


def test_only_the_cli_package_imports_typer() -> None:
    importers = []
    for path in PACKAGE.rglob("*.py"):
        if PACKAGE / "cli" in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == "typer" or name.startswith("typer.") for name in names):
                importers.append(str(path.relative_to(PACKAGE)))
    assert importers == []
