"""What happens when polls open and close: invitations through the delivery engine, results
to the organizer and to the residents who answered.

:class:`PollJobs` runs every few seconds from the scheduler (and can be called with any
``now``). Closing comes first, then opening. Both are conditional updates in the service
(``close_due``, ``open_due``), so a poll opens once and closes once, however many processes
run the job and however often the bot restarts.

- Opening: the invitation broadcast is created in the same transaction that opens the poll,
  so an opened poll always has its invitation and never two.
- Closing (:meth:`PollJobs.send_results`, also after an organizer closes a poll early): once
  the closing is committed, the organizer gets the results text and a bar chart per choice
  or scale question (drawn in a worker thread, with no database session open). Then one
  transaction marks the poll's results handed out (``polls.results_announced_at``, a
  conditional UPDATE) and, when the poll lets residents see results, creates the broadcast to
  the residents who answered: the first question's chart, sent again by the file id Telegram
  gave the organizer's copy (uploaded once), with a short summary as its caption, in the
  deployment's language (text alone when there is no chart, the organizer's copy failed, or
  the organizer reads another language, so the chart's labels would not match). Sending it
  is the delivery engine's work (rate limits, quiet hours, preferences, restarts).

  Residents' broadcast: exactly once. The marker and the broadcast commit together, so a
  restart or a second process never creates a second one; if the process stops after the
  closing and before that commit, :meth:`PollJobs.recover` finds the poll unmarked
  ``RECOVERY_AFTER`` later and creates it then (text only: the organizer's upload is gone).
  Organizer's messages: sent before the marker, so after such a stop they may arrive twice
  (the recovery sends them again, after marking): the results are never lost, and a
  repeated message is the smaller harm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import poll_admin as view
from bot.channels.telegram import poll_chart
from bot.channels.telegram import poll_results as results_view
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.services import broadcasts, poll_closing, polls, residents
from bot.services.audiences import Audience
from models import Broadcast, Channel, MessageCategory, Poll, PollStatus, utcnow

logger = logging.getLogger(__name__)

DEEP_LINK_PREFIX = "poll_"
# A closed poll whose results were not handed out this long after closing was left by a
# stopped process (handing them out takes seconds).
RECOVERY_AFTER = timedelta(minutes=5)


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


@dataclass(frozen=True, slots=True)
class ClosingResults:
    """Everything handed out when a poll closes, prepared from one read of the tally."""

    poll_id: int
    organizer_chat_id: int
    organizer_texts: list[str]  # in the organizer's language
    charts: list[poll_chart.Chart]  # in the organizer's language, first chartable question first
    for_residents: str | None  # in the deployment's language; None: residents get nothing
    charts_in_residents_language: bool  # the first chart can go to residents too


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
        """Close due polls and hand out their results; then recover results a stopped process
        left. Returns the ids closed by this call."""
        async with self.sessions() as session, session.begin():
            closed = await polls.close_due(session, now)
        for poll_id in closed:
            logger.info("poll %s closed", poll_id)
            try:
                await self.send_results(poll_id, now=now)
            except Exception:  # one organizer's failure must not stop the others
                logger.exception("poll %s: could not send the results", poll_id)
        await self.recover(now)
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

    async def send_results(self, poll_id: int, *, now: datetime | None = None) -> None:
        """The results of a poll that has just closed: to its organizer, then (once) to the
        residents who answered. Call it after the closing has committed."""
        results = await self._prepare(poll_id)
        if results is None:
            return
        photo: str | None = None
        try:
            photo = await self._send_to_organizer(results)
        except Exception:  # a chart that cannot be drawn must not keep residents waiting
            logger.exception("poll %s: the results to the organizer failed", poll_id)
        if not results.charts_in_residents_language:
            photo = None
        await self._queue_for_residents(results, photo, now)

    async def recover(self, now: datetime | None = None) -> list[int]:
        """Hand out the results of polls closed at least ``RECOVERY_AFTER`` ago whose results
        never were (the process stopped in between). Marks first, so of several processes
        one sends; the residents' message is text only. Returns the poll ids recovered."""
        async with self.sessions() as session:
            pending = await poll_closing.unannounced(session, (now or utcnow()) - RECOVERY_AFTER)
        recovered = []
        for poll_id in pending:
            try:
                results = await self._prepare(poll_id)
                if results is None or not await self._queue_for_residents(results, None, now):
                    continue
                logger.info("poll %s: results handed out after a restart", poll_id)
                recovered.append(poll_id)
                await self._send_to_organizer(results)
            except Exception:
                logger.exception("poll %s: could not recover the results", poll_id)
        return recovered

    async def _prepare(self, poll_id: int) -> ClosingResults | None:
        """Read the poll and its tally in one short session; texts and chart specs are built
        after it is closed (no database lock while drawing and sending)."""
        async with self.sessions() as session:
            poll = await polls.get_poll(session, poll_id)
            tally = await polls.tally(session, poll_id)
            if poll is None or tally is None:
                return None
            reach = await reached(session, poll_id)
            locale = await self._locale(session, poll.created_by)
        default = self.settings.default_locale
        with self.i18n.context():
            with self.i18n.use_locale(locale):
                message = view.results_message(poll, tally, reach, self.settings.tz, locale)
                charts = poll_chart.charts_of(poll_id, tally, locale)
            for_residents = None
            if tally.respondents and polls.results_visible(poll, answered=True):
                with self.i18n.use_locale(default):
                    for_residents = results_view.closing_announcement(poll, tally, default)
        return ClosingResults(
            poll_id=poll_id,
            organizer_chat_id=poll.created_by,
            organizer_texts=view.split_message(message),
            charts=charts,
            for_residents=for_residents,
            charts_in_residents_language=locale == default,
        )

    async def _send_to_organizer(self, results: ClosingResults) -> str | None:
        """The results text, then the charts; returns the first chart's Telegram file id
        (None when the organizer's messages failed or there is no chart)."""
        chat_id = results.organizer_chat_id
        for part in results.organizer_texts:
            try:
                await self.bot.send_message(chat_id, part)
            except TelegramAPIError as exc:
                logger.warning(
                    "poll %s: results to chat %s failed: %s",
                    results.poll_id,
                    chat_id,
                    type(exc).__name__,
                )
                return None
        return await poll_chart.send_charts(self.bot, chat_id, results.charts)

    async def _queue_for_residents(
        self, results: ClosingResults, photo_file_id: str | None, now: datetime | None
    ) -> bool:
        """Mark the results handed out and, when residents may see them, create their
        broadcast in the same transaction. False when they were handed out already."""
        async with self.sessions() as session, session.begin():
            if not await poll_closing.mark_results_announced(session, results.poll_id, now):
                return False
            if results.for_residents is None:
                return True
            broadcast = await broadcasts.create(
                session,
                created_by=results.organizer_chat_id,
                text=results.for_residents,
                audience=Audience(answered_poll_id=results.poll_id),
                category=MessageCategory.POLL,
                photo_file_id=photo_file_id,
            )
            broadcast_id = broadcast.id
        logger.info(
            "poll %s: results queued for residents (broadcast %s)",
            results.poll_id,
            broadcast_id,
        )
        self.delivery.wake()
        return True

    async def _locale(self, session: AsyncSession, chat_id: int) -> str:
        """The organizer's language when they also use the bot as a resident."""
        person = await residents.find(session, Channel.TELEGRAM, str(chat_id))
        if person is not None and person.language in self.i18n.available_locales:
            return person.language
        return self.settings.default_locale
