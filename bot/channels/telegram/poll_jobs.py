"""What happens when polls open and close: invitations through the delivery engine, results
to the organizer.

:class:`PollJobs` runs every few seconds from the scheduler (and can be called with any
``now``). Closing comes first, then opening. Both are conditional updates in the service
(``close_due``, ``open_due``), so a poll opens once and closes once, however many processes
run the job and however often the bot restarts.

- Opening: the invitation broadcast is created in the same transaction that opens the poll,
  so an opened poll always has its invitation and never two.
- Closing: the results go to the organizer after the closing is committed, so a crash
  between the two loses that one message rather than sending it twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import poll_admin as view
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.services import broadcasts, polls, residents
from bot.services.audiences import Audience
from models import Broadcast, Channel, MessageCategory, Poll, PollStatus, utcnow

logger = logging.getLogger(__name__)

DEEP_LINK_PREFIX = "poll_"


def answer_url(bot_username: str, poll_id: int) -> str:
    """The deep link of the invitation's button: ``/start poll_<id>`` in the bot."""
    return f"https://t.me/{bot_username}?start={DEEP_LINK_PREFIX}{poll_id}"


async def create_invitation(
    session: AsyncSession, poll: Poll, *, bot_username: str, i18n: I18n, settings: Settings
) -> Broadcast:
    """The invitation broadcast of an opened poll, in the deployment's default language
    (one text for everyone). Needs an i18n context (a handler's, or ``i18n.context()``)."""
    locale = settings.default_locale
    with i18n.use_locale(locale):
        text = view.invitation_text(poll, settings.tz, locale)
        button = view.invitation_button()
    return await broadcasts.create(
        session,
        created_by=poll.created_by,
        text=text,
        audience=Audience.from_json(poll.audience),
        category=MessageCategory.POLL,
        button_text=button,
        button_url=answer_url(bot_username, poll.id),
    )


async def invitation_of(session: AsyncSession, poll_id: int) -> Broadcast | None:
    """The poll's first invitation broadcast (later ones, e.g. reminders, share the link)."""
    suffix = f"?start={DEEP_LINK_PREFIX}{poll_id}"
    escaped = suffix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return await session.scalar(
        select(Broadcast)
        .where(
            Broadcast.category == MessageCategory.POLL,
            Broadcast.button_url.like("%" + escaped, escape="\\"),
        )
        .order_by(Broadcast.id)
        .limit(1)
    )


async def reached(session: AsyncSession, poll_id: int) -> int | None:
    """Residents the invitation was delivered to (None: no invitation, e.g. never opened)."""
    invitation = await invitation_of(session, poll_id)
    if invitation is None:
        return None
    return (await broadcasts.progress(session, invitation.id)).sent


async def results_for_organizer(
    session: AsyncSession, poll_id: int, settings: Settings, locale: str
) -> list[str] | None:
    """The results summary in parts that fit a message, in the current gettext locale."""
    poll = await polls.get_poll(session, poll_id)
    tally = await polls.tally(session, poll_id)
    if poll is None or tally is None:
        return None
    text = view.results_message(poll, tally, await reached(session, poll_id), settings.tz, locale)
    return view.split_message(text)


class PollJobs:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bot: Bot,
        i18n: I18n,
        settings: Settings,
        delivery: DeliveryEngine,
    ) -> None:
        self.sessions = session_factory
        self.bot = bot
        self.i18n = i18n
        self.settings = settings
        self.delivery = delivery

    async def run(self, now: datetime | None = None) -> tuple[list[int], list[int]]:
        """Close due polls (results to their organizers), then open due ones (invitations);
        returns (closed ids, opened ids)."""
        closed = await self.close(now)
        opened = await self.open(now)
        return closed, opened

    async def close(self, now: datetime | None = None) -> list[int]:
        async with self.sessions() as session, session.begin():
            closed = await polls.close_due(session, now)
        for poll_id in closed:
            logger.info("poll %s closed", poll_id)
            try:
                await self.send_results(poll_id)
            except Exception:  # one organizer's failure must not stop the others
                logger.exception("poll %s: could not send the results", poll_id)
        return closed

    async def open(self, now: datetime | None = None) -> list[int]:
        async with self.sessions() as session:
            # Before opening anything: no username, no invitation link (cached after once).
            moment = now or utcnow()
            due = await session.scalar(
                select(Poll.id)
                .where(
                    Poll.status == PollStatus.SCHEDULED,
                    Poll.opens_at <= moment,
                    Poll.closes_at > moment,
                )
                .limit(1)
            )
        if due is None:
            return []
        username = (await self.bot.me()).username or ""
        async with self.sessions() as session, session.begin():
            opened = await polls.open_due(session, now)
            with self.i18n.context():
                for poll_id in opened:
                    poll = await polls.get_poll(session, poll_id)
                    assert poll is not None
                    await create_invitation(
                        session, poll, bot_username=username, i18n=self.i18n, settings=self.settings
                    )
        for poll_id in opened:
            logger.info("poll %s opened; invitation queued", poll_id)
        if opened:
            self.delivery.wake()
        return opened

    async def send_results(self, poll_id: int) -> None:
        async with self.sessions() as session:
            poll = await polls.get_poll(session, poll_id)
            if poll is None:
                return
            chat_id = poll.created_by
            locale = await self._locale(session, chat_id)
            with self.i18n.context(), self.i18n.use_locale(locale):
                parts = await results_for_organizer(session, poll_id, self.settings, locale)
        for part in parts or []:
            try:
                await self.bot.send_message(chat_id, part)
            except TelegramAPIError as exc:
                logger.warning(
                    "poll %s: results to chat %s failed: %s", poll_id, chat_id, type(exc).__name__
                )
                return

    async def _locale(self, session: AsyncSession, chat_id: int) -> str:
        """The organizer's language when they also use the bot as a resident."""
        person = await residents.find(session, Channel.TELEGRAM, str(chat_id))
        if person is not None and person.language in self.i18n.available_locales:
            return person.language
        return self.settings.default_locale
