"""Handling Messenger events: one PSID's events in order, each in one transaction.

For every event: the message id is claimed (a redelivered one is skipped), the resident is
found or created and noted as having written (their 24-hour window starts again), the
conversation state is loaded, ``before_handling`` hooks run (held broadcasts and notices),
then the routers. The replies the handlers queued are sent after the commit, in order. A
failing handler rolls everything back — the message id too, so a redelivery is handled
again — and the resident gets a polite apology.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.messenger import state as conversation
from bot.channels.messenger.client import MessagingType, MessengerError, RecipientUnreachable
from bot.channels.messenger.context import MessengerContext, MessengerServices, Work
from bot.channels.messenger.events import MessengerEvent
from bot.channels.messenger.messages import OutMessage
from bot.channels.messenger.router import MessengerRouter, not_onboarded_handler, resolve
from bot.channels.telegram import after_commit
from bot.db import dialect_of, insert_function
from bot.db_context import current_session
from bot.services import residents
from models import Channel, ProcessedMessengerMessage, utcnow

logger = logging.getLogger(__name__)

Hook = Callable[[MessengerContext], Awaitable[None]]


@functools.cache
def _claim_statement(dialect: str) -> Any:
    return (
        insert_function(dialect)(ProcessedMessengerMessage)
        .values(mid=bindparam("mid"), processed_at=bindparam("processed_at"))
        .on_conflict_do_nothing(index_elements=["mid"])
        .returning(ProcessedMessengerMessage.mid)
    )


async def claim(session: AsyncSession, mid: str) -> bool:
    """Record the message id in this transaction; False when it was handled already."""
    inserted = await session.scalar(
        _claim_statement(dialect_of(session)), {"mid": mid, "processed_at": utcnow()}
    )
    return inserted is not None


def apology() -> str:
    from aiogram.utils.i18n import gettext as _

    return _("Sorry, something went wrong. Please try again a little later.")


class MessengerDispatcher:
    def __init__(
        self, services: MessengerServices, routers: Sequence[MessengerRouter] | None = None
    ) -> None:
        self.services = services
        if routers is None:
            from bot.channels.messenger import flows

            routers = flows.routers()
        self.routers = list(routers)
        # Run before routing, in order, inside the event's transaction (held.before_handling).
        self.before_handling: list[Hook] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()  # events accepted and not finished, per PSID
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self.handled = 0  # events handled to the end (skipped duplicates included)

    # -- accepting events -------------------------------------------------------------------

    def submit(self, events: Iterable[MessengerEvent]) -> None:
        """Handle the events in the background; one PSID's in the order given."""
        for event in events:
            self._pending[event.psid] += 1
            task = asyncio.create_task(self._run(event), name=f"messenger:{event.mid}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def running(self) -> int:
        return sum(self._pending.values())

    def pending(self, psid: str) -> int:
        return self._pending.get(psid, 0)

    async def wait_idle(self, psid: str | None = None, timeout: float = 30.0) -> None:
        """Until no event (of this PSID, or at all) is waiting or being handled."""

        def idle() -> bool:
            return not (self._pending.get(psid, 0) if psid is not None else self.running)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(idle)

    async def _run(self, event: MessengerEvent) -> None:
        self._lock_users[event.psid] += 1
        lock = self._locks.setdefault(event.psid, asyncio.Lock())
        try:
            async with lock:
                await self.handle(event)
        except Exception as exc:
            logger.exception("messenger event %s: %s", event.mid, type(exc).__name__)
        finally:
            self._lock_users[event.psid] -= 1
            if not self._lock_users[event.psid]:
                del self._lock_users[event.psid]
                self._locks.pop(event.psid, None)
            self._pending[event.psid] -= 1
            if self._pending[event.psid] <= 0:
                del self._pending[event.psid]
            self.handled += 1
            async with self._changed:
                self._changed.notify_all()

    # -- handling one event -----------------------------------------------------------------

    async def handle(self, event: MessengerEvent) -> None:
        """Handle one event (the caller holds the PSID's lock)."""
        i18n = self.services.i18n
        with i18n.context():
            replies, work, locale = await self._transaction(event)
            if replies is None:
                return
            with i18n.use_locale(locale):
                await self._send(event, replies)
                for item in work:
                    try:
                        await item()
                    except Exception as exc:
                        logger.exception(
                            "messenger event %s: work after the commit failed: %s",
                            event.mid,
                            type(exc).__name__,
                        )

    async def _transaction(
        self, event: MessengerEvent
    ) -> tuple[list[OutMessage] | None, list[Work], str]:
        """Run the handlers in one transaction: (replies to send or None, work, locale)."""
        services = self.services
        locale = services.settings.default_locale
        async with services.session_factory() as session:
            token = current_session.set(session)
            try:
                with after_commit.collecting() as telegram_work:
                    try:
                        async with session.begin():
                            if not await claim(session, event.mid):
                                logger.info("messenger message %s already handled", event.mid)
                                return None, [], locale
                            ctx = await self._context(session, event)
                            locale = ctx.locale
                            with services.i18n.use_locale(locale):
                                for hook in self.before_handling:
                                    await hook(ctx)
                                await self._route(ctx)
                    except Exception as exc:
                        logger.exception(
                            "messenger event %s failed: %s", event.mid, type(exc).__name__
                        )
                        with services.i18n.use_locale(locale):
                            return [OutMessage(text=apology())], [], locale
                return ctx.replies, [*ctx.after_commit_work, *telegram_work], ctx.locale
            finally:
                current_session.reset(token)

    async def _context(self, session: AsyncSession, event: MessengerEvent) -> MessengerContext:
        settings = self.services.settings
        resident = await residents.get_or_create(
            session, Channel.MESSENGER, event.psid, language=settings.default_locale
        )
        account = await residents.note_inbound(session, resident, Channel.MESSENGER, event.psid)
        state, data = await conversation.load(session, event.psid)
        available = self.services.i18n.available_locales
        locale = resident.language if resident.language in available else settings.default_locale
        return MessengerContext(
            session=session,
            resident=resident,
            account=account,
            event=event,
            services=self.services,
            locale=locale,
            state=state,
            data=data,
        )

    async def _route(self, ctx: MessengerContext) -> None:
        match = resolve(self.routers, ctx.payload, ctx.state)
        if not ctx.resident.is_onboarded and (match is None or not match.before_onboarding):
            lead = not_onboarded_handler(self.routers)
            if lead is not None:
                await lead(ctx)
                return
        if match is None:
            logger.info("messenger message %s: no handler", ctx.event.mid)
            return
        ctx.args = match.args
        await match.handler(ctx)

    async def _send(self, event: MessengerEvent, replies: Sequence[OutMessage]) -> None:
        graph = self.services.graph
        for message in replies:
            try:
                await graph.send(event.psid, message, messaging_type=MessagingType.RESPONSE)
            except RecipientUnreachable:
                logger.info("messenger message %s: the resident is unreachable", event.mid)
                await self._mark_unreachable(event.psid)
                return
            except MessengerError as exc:
                logger.warning(
                    "messenger message %s: reply not sent (code %s, subcode %s)",
                    event.mid,
                    exc.code,
                    exc.subcode,
                )
                return
            except Exception as exc:
                logger.exception(
                    "messenger message %s: reply not sent: %s", event.mid, type(exc).__name__
                )
                return

    async def _mark_unreachable(self, psid: str) -> None:
        async with self.services.session_factory() as session, session.begin():
            await residents.mark_unreachable(session, Channel.MESSENGER, psid)

    async def close(self, timeout: float = 30.0) -> None:
        """Wait for the events being handled (a graceful stop)."""
        try:
            await self.wait_idle(timeout=timeout)
        except TimeoutError:
            logger.warning("messenger: %s events still running at stop", self.running)
