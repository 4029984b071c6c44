"""``dalyvauk events …`` (import from a file, export an event's registrations) and
``dalyvauk report`` (participants against the programme's targets).

Texts are Lithuanian, as in the bot; problems go to stderr with exit code 2 (1 when the
event does not exist)."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_polls import FileFormat

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Settings

events_cli = typer.Typer(
    help="Events: import from a YAML or CSV file, export registrations.", no_args_is_help=True
)

_TAGS = re.compile(r"</?[a-z]+>")


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run ``work`` in one transaction, in Lithuanian (gettext) as the bot speaks."""
    from bot.cli import _run
    from bot.db import create_engine, create_session_factory
    from bot.i18n import create_i18n

    i18n = create_i18n("lt")

    async def main() -> None:
        engine = create_engine(settings.database.url)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                await work(session)
        finally:
            await engine.dispose()

    with i18n.context(), i18n.use_locale("lt"):
        _run(main)


def _fail(lines: list[str], code: int = 2) -> typer.Exit:
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(code=code)


@events_cli.command("import")
def events_import_command(
    file: Annotated[
        Path,
        typer.Argument(help="YAML or CSV file (see docs/events-example.yaml and .csv)."),
    ],
    created_by: Annotated[
        int | None,
        typer.Option(
            "--created-by", help="The organizer's Telegram id (default: the first admin's, or 0)."
        ),
    ] = None,
) -> None:
    """Import events from a file: all or none. They are published (residents see them under
    Renginiai) but not announced. Problems are printed one per line with their line numbers
    (exit code 2)."""
    from bot.channels.telegram import event_reports as texts
    from bot.cli import _settings
    from bot.services import event_import
    from bot.services.event_import import EventImportError

    settings = _settings()
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise _fail([f"{file}: {exc.strerror}"]) from None
    author = created_by if created_by is not None else next(iter(settings.telegram.admin_ids), 0)
    problems: list[str] = []
    done: list[str] = []

    async def work(session: AsyncSession) -> None:
        try:
            created = await event_import.import_events(
                session,
                content,
                filename=file.name,
                created_by=author,
                tz=settings.tz,
                offer_hours=settings.event.offer_hours,
                reminder_offsets=settings.event.reminder_offsets,
            )
        except EventImportError as error:
            problems.extend(f"{file}: {line}" for line in texts.error_lines(error))
            return
        done.append(texts.import_summary(created, settings.tz, "lt"))

    _in_session(settings, work)
    if problems:
        raise _fail(problems)
    typer.echo(done[0])


@events_cli.command("export")
def events_export_command(
    event_id: Annotated[int, typer.Argument(help="The event's number.")],
    fmt: Annotated[
        FileFormat, typer.Option("--format", help="csv (UTF-8, opens in Excel) or xlsx.")
    ] = FileFormat.CSV,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (default: renginys_ID_registracijos.csv)."
        ),
    ] = None,
) -> None:
    """Export an event's registrations and attendance; names only where residents agreed."""
    from bot.cli import _settings
    from bot.services import event_export, events
    from bot.services.poll_export import ExportFormat

    settings = _settings()
    kind = ExportFormat(fmt.value)
    target = output or Path(event_export.export_filename(event_id, kind))
    written: list[int] = []

    async def work(session: AsyncSession) -> None:
        event = await events.get_event(session, event_id)
        if event is not None:
            written.append(await event_export.write_export(session, event, kind, target))

    _in_session(settings, work)
    if not written:
        raise _fail([f"There is no event {event_id}."], code=1)
    typer.echo(f"Wrote {written[0]} registrations of event {event_id} to {target}.")


def report_command(
    since: Annotated[
        str | None, typer.Option(help="First day, e.g. 2026-01-01 (events starting from it).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last day, e.g. 2026-12-31 (included).")] = None,
) -> None:
    """Participants by event kind and municipality, registered and attended, against the
    programme's targets (EVENT_TARGETS; by default 300 trained, 450 in discussions and
    focus groups, 33 on the study visit)."""
    from bot.channels.telegram import event_reports as texts
    from bot.cli import _settings
    from bot.services import event_attendance

    settings = _settings()
    try:
        start, end = texts.report_period(since, until, tz=settings.tz)
    except ValueError:
        raise _fail(["--since and --until are days like 2026-12-31."]) from None
    done: list[str] = []

    async def work(session: AsyncSession) -> None:
        report = await event_attendance.report(
            session,
            since=start,
            until=end,
            targets=event_attendance.targets_from(settings.event.targets),
        )
        done.append(texts.report_text(report, settings.tz, "lt"))

    _in_session(settings, work)
    typer.echo(html.unescape(_TAGS.sub("", done[0])))
