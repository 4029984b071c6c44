"""Building the aiogram Bot and Dispatcher for a deployment (or a test, or the sandbox)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import after_commit
from bot.channels.telegram.commands import set_up_bot_profile
from bot.channels.telegram.fsm_storage import SQLAlchemyStorage
from bot.channels.telegram.inflight import InFlightUpdates
from bot.channels.telegram.middlewares import (
    ChatIsolationMiddleware,
    DatabaseSessionMiddleware,
    ResidentLocaleMiddleware,
    ResidentMiddleware,
    ThrottlingMiddleware,
    UnreachableResidents,
)
from bot.channels.telegram.response_models import KeepResponseModels
from bot.channels.telegram.retry import RetryRequestMiddleware
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from handlers import get_routers

logger = logging.getLogger(__name__)


class DalyvaukDispatcher(Dispatcher):
    """aiogram's Dispatcher that also knows which updates are being handled, and runs the
    work handlers leave for after their transaction has committed (``after_commit``)."""

    def __init__(self, *, inflight: InFlightUpdates, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inflight = inflight

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        self.inflight.started(update.update_id)
        try:
            with after_commit.collecting() as pending:
                result = await super().feed_update(bot, update, **kwargs)
                await after_commit.run(pending, update.update_id)
            return result
        finally:
            await self.inflight.finished(update.update_id)


def create_bot(
    token: str, settings: Settings, unreachable: UnreachableResidents, *, retries: bool = True
) -> Bot:
    """The bot; ``retries=False`` for the delivery engine, which schedules its own retries."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    attempts = 5 if retries else 1
    session.middleware(KeepResponseModels())
    session.middleware(RetryRequestMiddleware(max_attempts=attempts, on_forbidden=unreachable))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def _fsm_backend(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    if settings.redis.url:
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        storage = RedisStorage.from_url(settings.redis.url)
        return storage, RedisEventIsolation(storage.redis)
    return SQLAlchemyStorage(session_factory), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
    unreachable: UnreachableResidents,
    delivery: DeliveryEngine,
    routers: Sequence[Router] | None = None,
) -> DalyvaukDispatcher:
    """The dispatcher with every middleware; ``routers`` replaces the bot's own handlers
    (the poll benchmark measures the middlewares alone with one empty handler)."""
    storage, isolation = _fsm_backend(settings, session_factory)
    dp = DalyvaukDispatcher(
        inflight=InFlightUpdates(),
        storage=storage,
        disable_fsm=True,  # registered below, inside the update's transaction
        settings=settings,
        session_factory=session_factory,
        i18n=i18n,
        delivery=delivery,
    )
    # aiogram registers its FSM middleware first, and it also serialises the updates of one
    # chat. Here the two are split: one chat's updates wait for each other around the whole
    # transaction (so the next one reads what the previous one committed), and the state is
    # read and written inside the update's session (one connection per update; a state
    # change commits or rolls back with the handler's work).
    dp.update.outer_middleware(ChatIsolationMiddleware(dp.fsm, isolation))
    dp.update.outer_middleware(DatabaseSessionMiddleware(session_factory, unreachable))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(ResidentMiddleware(settings.telegram.admin_ids))
    ResidentLocaleMiddleware(i18n).setup(dp)
    throttling = ThrottlingMiddleware(settings.throttle_rate, settings.throttle_burst)
    dp.message.outer_middleware(throttling)
    dp.callback_query.outer_middleware(throttling)
    dp.include_routers(*(get_routers() if routers is None else routers))
    dp.errors.register(on_error)
    dp.startup.register(set_up_bot_profile)
    return dp


async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n) -> bool:
    """Log with ids only, and tell the resident something went wrong instead of going silent."""
    update = event.update
    if isinstance(event.exception, TelegramForbiddenError):
        logger.info("update %s: the chat has blocked the bot", update.update_id)
        return True
    logger.error(
        "update %s failed: %s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    chat_id = None
    if update.message is not None and update.message.chat.type == "private":
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        if chat_id is not None:
            await bot.send_message(
                chat_id,
                i18n.gettext("Sorry, something went wrong on our side. Please try again."),
            )
    except TelegramAPIError as exc:
        logger.warning(
            "update %s: could not report the error: %s", update.update_id, type(exc).__name__
        )
    return True
