"""Timed work of events: reminders to the registered residents and the waitlist's offers.

:class:`EventJobs` runs every half minute from the scheduler (and can be called with any
``now``). It is safe to run in several processes and after any restart:

- Reminders: :func:`~bot.services.event_reminders.reminders_due` marks each reminder
  (event, offset) created with a row only one transaction can insert; the broadcast to the
  event's registered residents is created in that same transaction, so a reminder is
  queued once and never lost. The delivery engine sends it (rate limits, quiet hours:
  a reminder is urgent, so not held, only when the event starts before quiet hours end).
  One text for everyone, in the deployment's language.
- Offers: :func:`~bot.services.event_registrations.expire_offers` expires the offers not
  answered in time and offers those places to the next on the waitlist, each event under
  its row lock. After the commit each resident concerned gets one message of their own
  (not a broadcast: a few residents, and an offer must not wait for the morning), in their
  language: the offer with its two buttons, or that their offer has expired. They get it
  whatever their message preferences: it answers their own request. A message that cannot
  be sent is logged; the offer still expires in time and passes on.

  Telegram residents get it from the bot directly (so a blocked chat is known here);
  Messenger residents through :class:`~bot.channels.notices.ResidentNotifier` with
  ``event_update=True``: the resident asked to take part in this very event (registering
  put them on its waitlist), so an offer of its place, or that the offer has lapsed, is an
  update of an event they registered to, which Meta's ``CONFIRMED_EVENT_UPDATE`` tag
  covers outside the 24-hour window (when the deployment enables it; otherwise the notice
  is held until they write). The buttons become postbacks with the same callback data.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.notices import ResidentNotifier
from bot.channels.telegram.event_callbacks import OfferAnswer, OfferCb
from bot.channels.telegram.event_view import (
    column,
    offer_keyboard,
    offer_text,
    place_text,
    title_html,
    when_text,
)
from bot.channels.telegram.texts import menu_label
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.services import broadcasts, event_registrations, event_reminders
from bot.services.audiences import Audience
from bot.services.event_registrations import OfferChange, OfferChangeKind
from bot.services.event_reminders import ReminderJob
from bot.services.quiet_hours import QuietHours
from models import Channel, Event, MessageCategory, Resident, utcnow

logger = logging.getLogger(__name__)

# Below this the reminder says how many hours (or minutes) are left; above it, which day.
HOURS_SHOWN_BELOW = timedelta(hours=12)


def relative_start(starts_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """``po 2 valandų``, ``po 30 minučių``, ``šiandien``, ``rytoj``, ``po 3 dienų``: how
    soon the event starts, counted from when the reminder is sent (it may be sent late)."""
    left = starts_at - now
    if left < HOURS_SHOWN_BELOW:
        minutes = max(1, round(left.total_seconds() / 60))
        if minutes < 60:
            return _("in {count} minute", "in {count} minutes", minutes).format(count=minutes)
        hours = round(minutes / 60)
        return _("in {count} hour", "in {count} hours", hours).format(count=hours)
    days = (starts_at.astimezone(tz).date() - now.astimezone(tz).date()).days
    if days <= 0:
        return _("today")
    if days == 1:
        return _("tomorrow")
    return _("in {count} day", "in {count} days", days).format(count=days)


def reminder_text(event: Event, now: datetime, tz: ZoneInfo, locale: str) -> str:
    """The reminder (Telegram HTML) in the current gettext locale: what, how soon, when,
    where or the link to join, and how to give the place up."""
    lines = [
        _("🔔 <b>Reminder:</b> {title} – {soon}.").format(
            title=title_html(event), soon=relative_start(event.starts_at, now, tz)
        ),
        "",
        f"🗓 {when_text(event, tz, locale)}",
    ]
    if event.place_address:
        lines.append(f"📍 {place_text(event)}")
    if event.online_url:
        lines.append(_("💻 Join online: {link}").format(link=html.escape(event.online_url)))
    lines += [
        "",
        _(
            "If you cannot come, please cancel your registration under “{events}”, so that "
            "someone else can have the place."
        ).format(events=menu_label("events")),
    ]
    return "\n".join(lines)


def offer_expired_text(event: Event) -> str:
    """The resident did not answer the offer in time (current gettext locale)."""
    return _(
        "The place at the event {title} that was held for you has gone to the next person "
        "on the waiting list, because we did not hear from you in time. If you still want "
        "to come, register again under “{events}”."
    ).format(title=title_html(event), events=menu_label("events"))


def messenger_offer_keyboard(registration_id: int) -> InlineKeyboardMarkup:
    """The offer's two buttons with labels that fit Messenger's 20 characters (the same
    callback data, answered by ``bot.channels.messenger.events_flow``)."""
    return column(
        (_("Yes, I will come"), OfferCb(registration=registration_id, answer=OfferAnswer.ACCEPT)),
        (
            _("Decline the place"),
            OfferCb(registration=registration_id, answer=OfferAnswer.DECLINE),
        ),
    )


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one resident, prepared inside the transaction, sent after it."""

    registration_id: int
    event_id: int
    chat_id: int | str  # a Telegram chat id, or a Messenger PSID
    change: OfferChangeKind
    text: str
    keyboard: InlineKeyboardMarkup | None
    resident: Resident | None = None  # set for a Messenger resident (sent by the notifier)


@dataclass
class EventJobs:
    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    i18n: I18n
    settings: Settings
    delivery: DeliveryEngine
    # Personal notices to Messenger residents; without one (Messenger off), they are held.
    notifier: ResidentNotifier | None = None
    quiet_hours: QuietHours = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        if self.notifier is None:
            self.notifier = ResidentNotifier(self.bot, None, self.sessions, settings)
        self.quiet_hours = QuietHours(
            settings.quiet_hours_start, settings.quiet_hours_end, settings.tz
        )

    async def run(self, now: datetime | None = None) -> tuple[list[int], list[Notice]]:
        """Offers first (they are personal and urgent), then reminders. Returns the ids of
        the reminder broadcasts created and the offer messages sent by this call."""
        sent = await self.offers(now)
        created = await self.reminders(now)
        return created, sent

    async def reminders(self, now: datetime | None = None) -> list[int]:
        """Create the broadcasts of the reminders that are due; returns their ids."""
        moment = now or utcnow()
        locale = self.settings.default_locale
        async with self.sessions() as session, session.begin():
            jobs = await event_reminders.reminders_due(
                session, quiet_hours=self.quiet_hours, now=moment
            )
            created = [await self._create_reminder(session, job, moment, locale) for job in jobs]
        for job, broadcast_id in zip(jobs, created, strict=True):
            logger.info(
                "event %s: %d-minute reminder queued (broadcast %s, urgent %s)",
                job.event_id,
                job.offset_minutes,
                broadcast_id,
                job.urgent,
            )
        if created:
            self.delivery.wake()
        return created

    async def _create_reminder(
        self, session: AsyncSession, job: ReminderJob, now: datetime, locale: str
    ) -> int:
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = reminder_text(job.event, now, self.settings.tz, locale)
        broadcast = await broadcasts.create(
            session,
            created_by=job.event.created_by,
            text=text,
            audience=Audience(registered_event_id=job.event_id),
            category=MessageCategory.EVENT,
            urgent=job.urgent,
        )
        return broadcast.id

    async def offers(self, now: datetime | None = None) -> list[Notice]:
        """Expire the offers not answered in time, offer the places to the next on the
        waitlist, and tell each resident concerned; returns the messages sent."""
        async with self.sessions() as session, session.begin():
            changes = await event_registrations.expire_offers(session, now)
            notices = [await self._notice(session, change) for change in changes]
        sent = []
        for notice in notices:
            if notice is not None and await self._send(notice):
                sent.append(notice)
        return sent

    async def _notice(self, session: AsyncSession, change: OfferChange) -> Notice | None:
        registration, event = change.registration, change.event
        resident = (
            await session.get(Resident, registration.resident_id)
            if registration.resident_id is not None
            else None
        )
        if resident is None:
            logger.info("registration %s (%s): nobody to tell", registration.id, change.change)
            return None
        locale = resident.language
        if locale not in self.i18n.available_locales:
            locale = self.settings.default_locale
        keyboard = None
        with self.i18n.context(), self.i18n.use_locale(locale):
            if change.change is OfferChangeKind.OFFERED:
                text = offer_text(event, registration, self.settings.tz, locale)
                keyboard = (
                    messenger_offer_keyboard(registration.id)
                    if resident.channel is Channel.MESSENGER
                    else offer_keyboard(registration.id)
                )
            else:
                text = offer_expired_text(event)
        if resident.channel is Channel.MESSENGER:
            return Notice(
                registration.id,
                event.id,
                resident.external_id,
                change.change,
                text,
                keyboard,
                resident,
            )
        return Notice(
            registration.id, event.id, int(resident.external_id), change.change, text, keyboard
        )

    async def _send(self, notice: Notice) -> bool:
        if notice.resident is not None:
            assert self.notifier is not None
            await self.notifier.send(
                notice.resident, notice.text, notice.keyboard, event_update=True
            )
            logger.info(
                "event %s, registration %s: %s notice passed to Messenger",
                notice.event_id,
                notice.registration_id,
                notice.change,
            )
            return True
        try:
            await self.bot.send_message(notice.chat_id, notice.text, reply_markup=notice.keyboard)
        except TelegramAPIError as exc:
            logger.warning(
                "event %s, registration %s: the %s message to chat %s failed: %s",
                notice.event_id,
                notice.registration_id,
                notice.change,
                notice.chat_id,
                type(exc).__name__,
            )
            return False
        logger.info(
            "event %s, registration %s: %s message sent",
            notice.event_id,
            notice.registration_id,
            notice.change,
        )
        return True
