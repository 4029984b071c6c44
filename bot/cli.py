"""The ``dalyvauk`` command line."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from bot import __version__
from bot.cli_events import events_cli, report_command
from bot.cli_polls import poll_cli, survey_cli
from bot.cli_proposals import proposals_cli
from bot.config import ConfigError, Settings, load_settings, require_token

cli = typer.Typer(
    name="dalyvauk",
    help="Dalyvauk – a chatbot that brings residents into their municipality's decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(poll_cli, name="poll")
cli.add_typer(survey_cli, name="survey")
cli.add_typer(events_cli, name="events")
cli.add_typer(proposals_cli, name="proposals")
cli.command("report")(report_command)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiohttp's access log would print request lines; ids are enough.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Configuration error: {message}", err=True)
    return typer.Exit(code=2)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    _configure_logging(settings.log_level)
    return settings


def _run(make: Callable[[], Awaitable[None]]) -> None:
    try:
        asyncio.run(make())  # type: ignore[arg-type]
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        typer.echo("Stopped.", err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dalyvauk {__version__}")
        raise typer.Exit


@cli.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Dalyvauk – a chatbot that brings residents into their municipality's decisions."""


def _serve(mode: str) -> None:
    """Check the settings, then build the application and run it until stopped."""
    from bot.app import (
        check_webhook_settings,
        create_application,
        run_delivery_only,
        run_polling,
        run_webhook,
    )

    settings = _settings()
    try:
        token = require_token(settings)
        if mode == "webhook":
            check_webhook_settings(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    serve = {"webhook": run_webhook, "polling": run_polling, "delivery": run_delivery_only}[mode]

    async def main() -> None:
        await serve(await create_application(settings, token))

    _run(main)


@cli.command()
def run() -> None:
    """Run the bot with long polling (no public address needed)."""
    _serve("polling")


@cli.command()
def webhook() -> None:
    """Run the bot as a webhook server (aiohttp) for production behind HTTPS."""
    _serve("webhook")


@cli.command()
def deliver() -> None:
    """Only send queued messages (announcements…), without taking updates."""
    _serve("delivery")


@cli.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the sandbox page.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Try the whole bot in your browser: no token, nothing sent to Telegram."""
    from bot.app import wait_for_stop_signal
    from bot.sandbox.runner import running_sandbox

    _configure_logging("WARNING")

    async def main() -> None:
        async with running_sandbox(host, port) as sandbox:
            typer.echo(f"Dalyvauk sandbox: open {sandbox.url} in your browser (Ctrl+C stops it).")
            await wait_for_stop_signal()
        typer.echo("Sandbox stopped.")

    try:
        _run(main)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port} ({exc.strerror}); try --port 8001") from None


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations and load the municipalities (the bot also does this at start)."""
    from bot.app import prepare_database
    from bot.db import create_engine

    settings = _settings()

    async def main() -> None:
        engine = create_engine(settings.database.url)
        try:
            await prepare_database(settings, engine)
        finally:
            await engine.dispose()

    _run(main)
    typer.echo("Database is up to date.")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's migration revision and the newest one."""
    from bot import migrations
    from bot.db import create_engine

    settings = _settings()

    async def main() -> None:
        engine = create_engine(settings.database.url)
        try:
            current = await migrations.current_revision(engine)
        finally:
            await engine.dispose()
        typer.echo(f"current: {current or 'empty database'}; newest: {migrations.head_revision()}")

    _run(main)


def main() -> None:
    cli()
