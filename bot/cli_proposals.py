"""``dalyvauk proposals export``: residents' proposals for the municipality's report, as
CSV or XLSX (no chat ids, no names). Problems go to stderr with exit code 2 (1 when the
municipality does not exist)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_events import _fail, _in_session
from bot.cli_polls import FileFormat

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

proposals_cli = typer.Typer(
    help="Residents' proposals: export for the municipality's report.", no_args_is_help=True
)


@proposals_cli.command("export")
def proposals_export_command(
    municipality: Annotated[
        str | None,
        typer.Option(help="The municipality's code, e.g. PAG (default: all municipalities)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="First day, e.g. 2026-01-01 (proposals submitted from it).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last day, e.g. 2026-12-31 (included).")] = None,
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="csv (UTF-8, opens in Excel) or xlsx.")
    ] = FileFormat.CSV,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: pasiulymai_CODE_….csv)."),
    ] = None,
) -> None:
    """Export proposals (submitted in the days given, Lithuanian time) with their status
    history; no chat ids and no names."""
    from bot.cli import _settings
    from bot.services import municipalities, proposal_export_files
    from bot.services.poll_export import ExportFormat

    settings = _settings()
    try:
        days = proposal_export_files.ExportScope.of_days(None, since, until, settings.tz)
    except ValueError:
        raise _fail(["--since and --until are days like 2026-12-31."]) from None
    kind = ExportFormat(fmt.value)
    code = municipality.strip().upper() if municipality else None
    target = output or Path(proposal_export_files.export_filename(code, days, kind))
    written: list[int] = []

    async def work(session: AsyncSession) -> None:
        scope = days
        if code is not None:
            found = await municipalities.get_by_code(session, code)
            if found is None:
                return
            scope = replace(days, municipality_id=found.id)
        written.append(await proposal_export_files.write_export(session, scope, kind, target))

    _in_session(settings, work)
    if not written:
        raise _fail([f"There is no municipality with the code {code}."], code=1)
    typer.echo(f"Wrote {written[0]} proposals to {target}.")
