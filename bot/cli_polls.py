"""``dalyvauk poll …`` and ``dalyvauk survey …`` command groups."""

from __future__ import annotations

import typer

poll_cli = typer.Typer(help="Polls: results and exports.", no_args_is_help=True)
survey_cli = typer.Typer(help="Surveys: import from a YAML file.", no_args_is_help=True)
