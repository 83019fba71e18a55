"""A command group read from a table: each command's module is imported when it runs.

``bizlm --help`` lists every command from the table's names and one-line help without
importing a command module, so it stays quick even though the modules themselves import
torch, transformers and the rest at their top. ``tests/cli/test_command_table.py`` checks
that each line of help in the table is the command's own.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

import click
import typer
from typer.core import TyperGroup


@dataclass(frozen=True)
class Entry:
    """One command of a group: its name, its one-line help, and where it lives.

    ``target`` is ``"module:attribute"`` (a typer app, or a command function), or a sequence
    of entries for a group whose sub-commands live in several modules.
    """

    name: str
    help: str
    target: str | Sequence[Entry]


def load_command(entry: Entry) -> click.Command:
    """Import the entry's module and build its click command, named as in the table."""
    if not isinstance(entry.target, str):
        return LazyGroup(
            name=entry.name, entries=entry.target, help=entry.help, no_args_is_help=True
        )
    module, _, attribute = entry.target.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):  # a group, even with one sub-command
        command: click.Command = typer.main.get_group(found)
    else:
        single = typer.Typer(add_completion=False)
        single.command(entry.name)(found)
        command = typer.main.get_command(single)
    command.name = entry.name
    return command


class LazyGroup(TyperGroup):
    """A typer group whose commands are the table's entries, each loaded at first use."""

    def __init__(self, *, entries: Sequence[Entry], **attrs: object) -> None:
        listed = {e.name: click.Command(e.name, help=e.help, short_help=e.help) for e in entries}
        super().__init__(commands=listed, **attrs)  # type: ignore[arg-type]
        self.entries = {entry.name: entry for entry in entries}
        self.loaded: dict[str, click.Command] = {}
        self.listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command to run (its module imported now), or its listing while help prints."""
        entry = self.entries.get(cmd_name)
        if entry is None or self.listing:
            return self.commands.get(cmd_name)
        if cmd_name not in self.loaded:
            self.loaded[cmd_name] = load_command(entry)
        return self.loaded[cmd_name]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's help, listing commands from the table without importing them."""
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False
