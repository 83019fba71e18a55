"""The ``bizlm app`` command group: one sub-group per application."""

import typer

from bizlm.apps.support.commands import support_app

apps_app = typer.Typer(no_args_is_help=True, help="Ready applications: support desk.")
apps_app.add_typer(support_app, name="support")
