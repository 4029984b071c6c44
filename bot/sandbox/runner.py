"""``dalyvauk demo``: local Bot API + the real bot + the sandbox page, in one process."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.app import Application, create_application
from bot.config import explicit_settings
from bot.localapi.bot_runner import PollingBot
from bot.localapi.server import LocalBotAPI
from bot.sandbox.web import Sandbox, create_sandbox_app
from bot.sandbox.world import ORGANIZER, partner_municipality_codes, populate_chats, seed

logger = logging.getLogger(__name__)

# Only the local Bot API server of this process ever sees it.
DEMO_TOKEN = "100000001:DALYVAUK-SANDBOX"  # noqa: S105


@dataclass
class RunningSandbox:
    api: LocalBotAPI
    app: Application
    bot: PollingBot
    url: str


@contextlib.asynccontextmanager
async def running_sandbox(
    host: str = "127.0.0.1", port: int = 8000, database: Path | None = None
) -> AsyncIterator[RunningSandbox]:
    """Start everything; stop it all on exit. ``database`` None: a fresh temporary SQLite."""
    with contextlib.ExitStack() as files:
        if database is None:
            folder = Path(files.enter_context(tempfile.TemporaryDirectory(prefix="dalyvauk-")))
            database = folder / "sandbox.sqlite3"
        api = LocalBotAPI(DEMO_TOKEN, bot_username="dalyvauk_demo_bot")
        await api.start()
        try:
            settings = explicit_settings(
                database={"url": f"sqlite+aiosqlite:///{database}"},
                telegram={"api_base": api.base_url, "admin_ids": [ORGANIZER.user_id]},
                active_municipalities=partner_municipality_codes(),
                # A rehearsal in the evening should still show what residents receive.
                quiet_hours_start="00:00",
                quiet_hours_end="00:00",
            )
            app = await create_application(settings, api.token)
            try:
                async with app.session_factory() as session, session.begin():
                    await seed(session)
                populate_chats(api)
                bot = PollingBot(api, app)
                await bot.start()
                app.start_background_work()
                runner = web.AppRunner(create_sandbox_app(Sandbox(api, bot, settings.tz)))
                await runner.setup()
                try:
                    site = web.TCPSite(runner, host, port)
                    await site.start()
                    bound_port = runner.addresses[0][1]
                    yield RunningSandbox(api, app, bot, f"http://{host}:{bound_port}/")
                finally:
                    await runner.cleanup()
                    await bot.stop()
            finally:
                await app.close()
        finally:
            await api.stop()
