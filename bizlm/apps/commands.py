"""The ``bizlm app`` command group: one sub-group per application."""

import typer

from bizlm.apps.recommend.commands import recommend_app
from bizlm.apps.risk.commands import risk_app
from bizlm.apps.support.commands import support_app

apps_app = typer.Typer(
    no_args_is_help=True, help="Ready applications: support desk, risk monitor, recommender."
)
apps_app.add_typer(support_app, name="support")
apps_app.add_typer(risk_app, name="risk")
apps_app.add_typer(recommend_app, name="recommend")
