"""``dalyvauk poll …`` and ``dalyvauk survey …`` command groups."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

poll_cli = typer.Typer(help="Polls: results and exports.", no_args_is_help=True)
survey_cli = typer.Typer(help="Surveys: import from a YAML file.", no_args_is_help=True)


class FileFormat(enum.StrEnum):
    """The choices of ``--format`` (here, so the command line starts without openpyxl)."""

    CSV = "csv"
    XLSX = "xlsx"


@poll_cli.command("export")
def poll_export_command(
    poll_id: Annotated[int, typer.Argument(help="The poll's number.")],
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="csv (UTF-8, opens in Excel) or xlsx.")
    ] = FileFormat.CSV,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: apklausa_ID_atsakymai.csv)."),
    ] = None,
) -> None:
    """Export a poll's answers for research: one row per answer, residents by pseudonym."""
    from bot.cli import _fail, _run, _settings
    from bot.config import ConfigError, require_pseudonym_secret
    from bot.db import create_engine, create_session_factory
    from bot.services import poll_export, polls
    from bot.services.poll_export import ExportFormat

    settings = _settings()
    try:
        secret = require_pseudonym_secret(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    kind = ExportFormat(fmt.value)
    target = output or Path(poll_export.export_filename(poll_id, kind))
    written: list[int] = []

    async def main() -> None:
        engine = create_engine(settings.database.url)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                if await polls.get_poll(session, poll_id) is None:
                    return
                written.append(
                    await poll_export.write_export(session, poll_id, secret, kind, target)
                )
        finally:
            await engine.dispose()

    _run(main)
    if not written:
        typer.echo(f"There is no poll {poll_id}.", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"Wrote {written[0]} answers of poll {poll_id} to {target}.")


@survey_cli.command("import")
def survey_import_command(
    file: Annotated[
        Path, typer.Argument(help="The survey's YAML file (see docs/survey-example.yaml).")
    ],
    created_by: Annotated[
        int | None,
        typer.Option(
            "--created-by",
            help="The organizer's Telegram id (default: the first admin's, or 0).",
        ),
    ] = None,
    opens: Annotated[
        str | None,
        typer.Option(
            help='Opening time, Europe/Vilnius, e.g. "2026-12-01 18:00" (overrides the file).'
        ),
    ] = None,
    closes: Annotated[
        str | None,
        typer.Option(help='Closing time, e.g. "2026-12-08 18:00" (overrides the file).'),
    ] = None,
) -> None:
    """Import a multi-question survey from a YAML file; nothing is saved if it has problems.

    Problems are printed one per line with their line numbers (exit code 2)."""
    from datetime import datetime

    from bot.channels.telegram import survey_import as texts
    from bot.cli import _run, _settings
    from bot.db import create_engine, create_session_factory
    from bot.i18n import create_i18n
    from bot.services import municipalities, survey_import
    from bot.services.survey_import import SurveyImportError, SurveyIssue, SurveyProblem
    from models import utcnow

    settings = _settings()
    i18n = create_i18n("lt")
    problems: list[str] = []
    done: list[str] = []

    def fail(lines: list[str]) -> typer.Exit:
        for line in lines:
            typer.echo(line, err=True)
        return typer.Exit(code=2)

    with i18n.context(), i18n.use_locale("lt"):
        moments: dict[str, datetime] = {}
        for key, value in (("opens", opens), ("closes", closes)):
            if value is None:
                continue
            try:
                moments[key] = survey_import.parse_moment(value, settings.tz)
            except ValueError:
                issue = SurveyIssue(
                    None, SurveyProblem.BAD_DATE, {"key": f"--{key}", "value": value}
                )
                problems.append(texts.issue_text(issue))
        try:
            content = file.read_bytes()
        except OSError as exc:
            problems.append(f"{file}: {exc.strerror}")
        if problems:
            raise fail(problems)
        author = (
            created_by if created_by is not None else next(iter(settings.telegram.admin_ids), 0)
        )

        async def main() -> None:
            engine = create_engine(settings.database.url)
            try:
                async with create_session_factory(engine)() as session, session.begin():
                    now = utcnow()
                    try:
                        poll = await survey_import.import_survey(
                            session,
                            content,
                            created_by=author,
                            tz=settings.tz,
                            opens=moments.get("opens"),
                            closes=moments.get("closes"),
                            now=now,
                        )
                    except SurveyImportError as error:
                        problems.extend(f"{file}: {line}" for line in texts.error_lines(error))
                        return
                    places = await municipalities.list_by_ids(
                        session, poll.audience.get("municipality_ids", [])
                    )
                    done.append(texts.summary(poll, places, settings.tz, "lt", now))
            finally:
                await engine.dispose()

        _run(main)
    if problems:
        raise fail(problems)
    typer.echo(done[0])
