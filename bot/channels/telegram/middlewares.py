"""Update middlewares: one database transaction per update, the resident, locale, flood control."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.i18n import I18nMiddleware
from aiogram.utils.i18n import gettext as _
from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db_context import current_session
from bot.services import residents, updates
from models import Channel, Resident

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Private chats whose bot was blocked during this update (403); marked after the transaction.
pending_unreachable: ContextVar[set[int] | None] = ContextVar("pending_unreachable", default=None)


class UnreachableResidents:
    """Marks residents unreachable after a 403, outside the update's own transaction.

    Inside a handler the update's transaction may still roll back (the 403 is usually the
    error that ends it), so the chat is remembered and marked once the transaction is over.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, chat_id: int) -> None:
        if chat_id <= 0:  # groups are not residents
            return
        pending = pending_unreachable.get()
        if pending is not None:
            pending.add(chat_id)
            return
        await self.mark([chat_id])

    async def mark(self, chat_ids: Iterable[int]) -> None:
        async with self.session_factory() as session, session.begin():
            for chat_id in chat_ids:
                if await residents.mark_unreachable(session, Channel.TELEGRAM, str(chat_id)):
                    logger.info("resident chat %s marked unreachable (403)", chat_id)


class ChatIsolationMiddleware(BaseMiddleware):
    """One update at a time per chat (aiogram's FSM key), held until the update's
    transaction has ended: registered outside :class:`DatabaseSessionMiddleware`, so a
    double tap's second update starts after the first one committed and sees its work."""

    def __init__(self, fsm: FSMContextMiddleware, isolation: BaseEventIsolation) -> None:
        self.fsm = fsm
        self.isolation = isolation

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context = self.fsm.resolve_event_context(data["bot"], data)
        if context is None:
            return await handler(event, data)
        async with self.isolation.lock(key=context.key):
            return await handler(event, data)


class DatabaseSessionMiddleware(BaseMiddleware):
    """One session and one transaction per update: commit when handled, roll back on error.

    The first statement records the update id, so an update Telegram delivers twice is
    handled once; it commits with the handler's work.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        unreachable: UnreachableResidents,
    ) -> None:
        self.session_factory = session_factory
        self.unreachable = unreachable

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        pending: set[int] = set()
        pending_token = pending_unreachable.set(pending)
        try:
            async with self.session_factory() as session:
                session_token = current_session.set(session)
                try:
                    async with session.begin():
                        if not await updates.claim(session, data["bot"].id, event.update_id):
                            logger.info("update %s already handled; skipped", event.update_id)
                            return UNHANDLED
                        data["session"] = session
                        return await handler(event, data)
                finally:
                    current_session.reset(session_token)
        finally:
            pending_unreachable.reset(pending_token)
            if pending:
                await self.unreachable.mark(pending)


class ResidentMiddleware(BaseMiddleware):
    """Puts the resident of a private chat (or None) and the admin flag into handler data."""

    def __init__(self, admin_ids: Iterable[int]) -> None:
        self.admin_ids = frozenset(admin_ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        resident: Resident | None = None
        if user is not None and chat is not None and chat.type == "private":
            session: AsyncSession = data["session"]
            resident = await residents.find(session, Channel.TELEGRAM, str(user.id))
            if resident is not None:
                # They wrote to us (again): reachable, and answered here if they also use
                # Messenger. Nothing is written when nothing changed.
                await residents.note_inbound(session, resident, Channel.TELEGRAM, str(user.id))
        data["resident"] = resident
        data["is_admin"] = user is not None and user.id in self.admin_ids
        return await handler(event, data)


class ResidentLocaleMiddleware(I18nMiddleware):
    """The resident's chosen language; the deployment's default for everyone else."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        resident: Resident | None = data.get("resident")
        if resident is not None and resident.language in self.i18n.available_locales:
            return resident.language
        return self.i18n.default_locale


class ThrottlingMiddleware(BaseMiddleware):
    """Flood control per user: a token bucket of ``burst`` updates refilled at ``rate``/s.

    Buckets live in memory on purpose: they protect this process for the next seconds and
    nothing is lost when a restart empties them. Over the limit, the user is told once
    and further updates are dropped until the bucket refills.
    """

    def __init__(self, rate: float, burst: int, max_users: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        ttl = max(60.0, burst / rate)
        self._buckets: TTLCache[int, tuple[float, float, bool]] = TTLCache(max_users, ttl)

    def allow(self, user_id: int, now: float | None = None) -> tuple[bool, bool]:
        """(allowed, first refusal) for one update of ``user_id``."""
        now = time.monotonic() if now is None else now
        tokens, last, warned = self._buckets.get(user_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[user_id] = (tokens - 1.0, now, False)
            return True, False
        self._buckets[user_id] = (tokens, now, True)
        return False, not warned

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        allowed, first_refusal = self.allow(user.id)
        if allowed:
            return await handler(event, data)
        logger.info("user %s throttled", user.id)
        if isinstance(event, CallbackQuery):
            await event.answer(
                _("You are sending messages very quickly. Please wait a few seconds.")
                if first_refusal
                else None
            )
        elif first_refusal and isinstance(event, Message) and event.chat.type == "private":
            await event.answer(
                _("You are sending messages very quickly. Please wait a few seconds.")
            )
        return UNHANDLED
