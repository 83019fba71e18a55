"""The ``bizlm`` command line: the only package that imports typer.

``main`` is the console script; ``run(argv)`` runs one command and returns its exit code.
The command table is in :mod:`bizlm.cli.main`; each command lives in its own module here.
"""

from bizlm.cli.main import main, run

__all__ = ["main", "run"]
