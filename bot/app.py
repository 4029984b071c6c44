"""Composition root: settings → database → services → aiogram, and the ways to run it."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass, field

from aiogram import Bot
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import migrations
from bot.channels.messenger import held
from bot.channels.messenger.client import GraphClient
from bot.channels.messenger.context import MessengerServices
from bot.channels.messenger.dispatcher import MessengerDispatcher
from bot.channels.messenger.profile import set_profile
from bot.channels.messenger.sender import MessengerSender
from bot.channels.messenger.webhook import MessengerChannel
from bot.channels.notices import ResidentNotifier
from bot.channels.telegram.dispatcher import DalyvaukDispatcher, create_bot, create_dispatcher
from bot.channels.telegram.event_jobs import EventJobs
from bot.channels.telegram.middlewares import UnreachableResidents
from bot.channels.telegram.poll_jobs import PollJobs
from bot.channels.telegram.progress import ProgressReporter
from bot.channels.telegram.proposal_jobs import ProposalJobs
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.webhook import create_webhook_app
from bot.config import ConfigError, Settings
from bot.db import create_engine, create_session_factory
from bot.delivery.engine import DeliveryEngine, default_rates
from bot.i18n import CatalogI18n, create_i18n
from bot.scheduler import create_scheduler
from bot.services import municipalities
from bot.services.quiet_hours import QuietHours
from models import Channel

logger = logging.getLogger(__name__)


# How long a graceful stop waits for the updates being handled (docker-compose.yml's
# stop_grace_period covers this plus the delivery engine's own grace).
UPDATES_STOP_GRACE_SECONDS = 30.0


@dataclass
class Application:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    i18n: CatalogI18n
    bot: Bot
    dispatcher: DalyvaukDispatcher
    scheduler: AsyncIOScheduler
    delivery: DeliveryEngine
    delivery_bot: Bot
    messenger: MessengerChannel | None = None  # None: Messenger is off
    _closed: bool = field(default=False, repr=False)

    def start_background_work(self) -> None:
        """Timed jobs and the delivery engine (bulk sending)."""
        if not self.scheduler.running:
            self.scheduler.start()
        self.delivery.start()

    async def start_messenger(self) -> None:
        """The page's Messenger profile (Get Started, greeting, menu); a failure is logged."""
        if self.messenger is not None:
            await set_profile(self.messenger.graph, self.i18n, self.settings.default_locale)

    def add_web_routes(self, web_app: web.Application) -> None:
        """The Messenger webhook on the bot's web server, when Messenger is on."""
        if self.messenger is not None:
            self.messenger.add_routes(web_app)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.delivery.stop()
        await self.dispatcher.inflight.wait_idle(timeout=UPDATES_STOP_GRACE_SECONDS)
        if self.messenger is not None:
            await self.messenger.close(timeout=UPDATES_STOP_GRACE_SECONDS)
        await self.bot.session.close()
        await self.delivery_bot.session.close()
        await self.engine.dispose()


async def prepare_database(settings: Settings, engine: AsyncEngine) -> None:
    """Apply migrations and load the municipalities; safe to run at every start."""
    await migrations.upgrade(engine)
    session_factory = create_session_factory(engine)
    async with session_factory() as session, session.begin():
        try:
            await municipalities.sync_reference_data(
                session, municipalities.read_reference(), settings.active_municipalities
            )
        except municipalities.UnknownMunicipalityCodes as exc:
            raise ConfigError(
                f"ACTIVE_MUNICIPALITIES: unknown municipality codes {exc}; use the three-letter "
                "codes from models/data/municipalities.csv, for example PAG,BRZ"
            ) from None


async def create_application(settings: Settings, token: str) -> Application:
    engine = create_engine(settings.database.url)
    try:
        await prepare_database(settings, engine)
    except BaseException:
        await engine.dispose()
        raise
    session_factory = create_session_factory(engine)
    i18n = create_i18n(settings.default_locale)
    unreachable = UnreachableResidents(session_factory)
    bot = create_bot(token, settings, unreachable)
    delivery_bot = create_bot(token, settings, unreachable, retries=False)
    delivery = DeliveryEngine(
        engine,
        session_factory,
        {
            Channel.TELEGRAM: TelegramSender(
                delivery_bot, paid_broadcast=settings.delivery.paid_broadcast
            )
        },
        settings.delivery,
        QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, settings.tz),
        on_progress=ProgressReporter(bot, i18n, settings, session_factory).report,
        rates=default_rates(settings.delivery, settings.messenger.rate_per_second),
        event_update_tag=settings.messenger.event_update_tag,
    )
    dispatcher = create_dispatcher(settings, session_factory, i18n, unreachable, delivery)
    poll_jobs = PollJobs(session_factory, bot, i18n, settings, delivery)
    event_jobs = EventJobs(session_factory, bot, i18n, settings, delivery)
    proposal_jobs = ProposalJobs(session_factory, bot, i18n, settings)
    scheduler = create_scheduler(session_factory, poll_jobs.run, event_jobs.run, proposal_jobs.run)
    messenger = create_messenger(settings, session_factory, i18n, bot, delivery)
    # Personal notices (offers of a place, ...) reach Messenger residents through the notifier.
    notifier = (
        messenger.dispatcher.services.notifier
        if messenger is not None
        else ResidentNotifier(bot, None, session_factory, settings)
    )
    dispatcher["notifier"] = notifier
    event_jobs.notifier = notifier
    # Everything imported so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise pause the event loop for ~0.2 s (a burst of
    # delayed sends afterwards could exceed Telegram's rate).
    gc.freeze()
    return Application(
        settings,
        engine,
        session_factory,
        i18n,
        bot,
        dispatcher,
        scheduler,
        delivery,
        delivery_bot,
        messenger,
    )


def create_messenger(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: CatalogI18n,
    bot: Bot,
    delivery: DeliveryEngine,
) -> MessengerChannel | None:
    """The Messenger channel when its three secrets are set; one line says which."""
    config = settings.messenger
    if not config.enabled:
        logger.info("Messenger: off — set %s to turn it on", " and ".join(config.missing))
        return None
    assert config.page_access_token is not None
    graph = GraphClient(config.api_base, config.page_access_token.get_secret_value())
    delivery.senders[Channel.MESSENGER] = MessengerSender(graph, bot)
    notifier = ResidentNotifier(bot, graph, session_factory, settings)
    services = MessengerServices(settings, session_factory, i18n, bot, graph, delivery, notifier)
    dispatcher = MessengerDispatcher(services)
    dispatcher.before_handling.append(held.before_handling)
    logger.info("Messenger: on at %s", config.path)
    return MessengerChannel(config, graph, dispatcher)


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def start_web_server(app: Application) -> web.AppRunner | None:
    """With long polling, a web server only for Messenger's webhook (and /healthz), on
    WEBHOOK_LISTEN_HOST:WEBHOOK_LISTEN_PORT; none when Messenger is off."""
    if app.messenger is None:
        return None
    web_app = web.Application()
    web_app.router.add_get("/healthz", health)
    app.add_web_routes(web_app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    settings = app.settings.webhook
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
    except BaseException:
        await runner.cleanup()
        raise
    logger.info("web server listening on %s:%s", settings.listen_host, settings.listen_port)
    return runner


async def run_polling(app: Application) -> None:
    app.start_background_work()
    runner: web.AppRunner | None = None
    try:
        runner = await start_web_server(app)
        await app.start_messenger()
        await app.bot.delete_webhook(drop_pending_updates=False)
        await app.dispatcher.start_polling(
            app.bot,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            close_bot_session=False,
        )
    finally:
        if runner is not None:
            await runner.cleanup()
        await app.close()


async def run_delivery_only(app: Application) -> None:
    """Only the delivery engine and timed jobs, for a process that sends but takes no updates
    (e.g. next to webhook processes; with PostgreSQL one of them is elected to send)."""
    app.start_background_work()
    try:
        await wait_for_stop_signal()
    finally:
        await app.close()


def check_webhook_settings(settings: Settings) -> None:
    if not settings.webhook.url:
        raise ConfigError("WEBHOOK_URL: set the public https:// address Telegram should call")
    if settings.webhook.secret is None:
        raise ConfigError(
            "WEBHOOK_SECRET: set a secret of 1-256 letters, digits, _ or - so that only "
            "Telegram can post updates"
        )


async def wait_for_stop_signal() -> None:
    """Until SIGINT or SIGTERM (what ``docker stop`` sends)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def run_webhook(app: Application) -> None:
    check_webhook_settings(app.settings)
    settings = app.settings.webhook
    web_app = create_webhook_app(app.dispatcher, app.bot, settings)
    app.add_web_routes(web_app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
    app.start_background_work()
    try:
        await site.start()
        logger.info("webhook server listening on %s:%s", settings.listen_host, settings.listen_port)
        await app.start_messenger()
        await wait_for_stop_signal()
        logger.info("stopping")
    finally:
        await runner.cleanup()
        await app.close()
