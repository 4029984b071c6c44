"""The organizer's progress message for a broadcast, edited as sending goes on.

The delivery engine calls :meth:`ProgressReporter.report` every few seconds while a
broadcast is being sent and once when it is finished. The first report sends a message to
the organizer and remembers its id on the broadcast; later reports edit that message.
Nothing here may stop the sending: Telegram errors are logged, never raised.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_percent
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import date_and_time, number, short_time
from bot.services import broadcasts, residents
from bot.services.broadcasts import Progress
from bot.services.quiet_hours import QuietHours
from models import Broadcast, Channel, utcnow

logger = logging.getLogger(__name__)

BAR_CELLS = 10
BAR_FULL = "▓"
BAR_EMPTY = "░"


def progress_bar(done: int, total: int, locale: str) -> str:
    """``▓▓▓▓▓░░░░░ 50 %`` (rounded down: 100 % only when everyone has an outcome)."""
    share = 1.0 if total <= 0 else min(done, total) / total
    filled = math.floor(share * BAR_CELLS)
    percent = format_percent(math.floor(share * 100) / 100, locale=locale)
    return BAR_FULL * filled + BAR_EMPTY * (BAR_CELLS - filled) + " " + percent


def time_left(progress: Progress, now: datetime) -> str | None:
    """``About 4 min. left``, from the rate so far; None until there is a rate."""
    if progress.started_at is None or progress.done == 0 or progress.finished:
        return None
    elapsed = (now - progress.started_at).total_seconds()
    if elapsed <= 0:
        return None
    remaining = max(progress.total - progress.done, 0) * elapsed / progress.done
    if remaining < 60:
        return _("Less than a minute left.")
    return _("About {minutes} min. left.").format(minutes=math.ceil(remaining / 60))


def progress_text(
    broadcast: Broadcast,
    progress: Progress,
    now: datetime,
    quiet_hours: QuietHours,
    settings: Settings,
    locale: str,
) -> str:
    """The progress message in the current gettext locale."""
    tz = settings.tz
    title = (
        _("<b>The announcement has been sent</b>")
        if progress.finished
        else _("<b>Sending the announcement</b>")
    )
    excerpt = broadcasts.preview_text(broadcast.text, 40)
    lines = [title]
    if excerpt:
        lines.append(_("“{text}”").format(text=excerpt))
    lines += [
        "",
        progress_bar(progress.done, progress.total, locale),
        _("Sent: {sent} / {total}").format(
            sent=number(progress.sent, locale), total=number(progress.total, locale)
        ),
        _("Failed: {count}").format(count=number(progress.failed, locale)),
        _("Have blocked the bot: {count}").format(count=number(progress.blocked, locale)),
    ]
    if progress.held:
        # Messenger residents outside the 24-hour window: offered when they next write.
        lines.append(
            _("Messenger, waiting until the resident writes: {count}").format(
                count=number(progress.held, locale)
            )
        )
    if progress.finished:
        finished_at = broadcast.finished_at or now
        lines.append(_("Finished: {when}").format(when=date_and_time(finished_at, tz, locale)))
    elif not broadcast.urgent and quiet_hours.contains(now):
        lines.append(
            _("Quiet hours: sending will continue at {time}.").format(
                time=short_time(quiet_hours.next_end(now), tz, locale)
            )
        )
    else:
        left = time_left(progress, now)
        if left:
            lines.append(left)
    return "\n".join(lines)


class ProgressReporter:
    def __init__(
        self,
        bot: Bot,
        i18n: I18n,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self.bot = bot
        self.i18n = i18n
        self.settings = settings
        self.sessions = session_factory
        self.quiet_hours = QuietHours(
            settings.quiet_hours_start, settings.quiet_hours_end, settings.tz
        )
        # Message ids sent but perhaps not yet stored, so a failed write cannot cause a
        # new message at every report.
        self._message_ids: dict[int, int] = {}

    async def report(self, broadcast: Broadcast, progress: Progress) -> None:
        chat_id = broadcast.progress_chat_id
        if chat_id is None:
            return
        try:
            locale = await self._locale(chat_id)
            with self.i18n.context(), self.i18n.use_locale(locale):
                text = progress_text(
                    broadcast, progress, utcnow(), self.quiet_hours, self.settings, locale
                )
            message_id = broadcast.progress_message_id or self._message_ids.get(broadcast.id)
            if message_id is None or not await self._edit(broadcast, chat_id, message_id, text):
                await self._send(broadcast, chat_id, text)
        except (TelegramAPIError, SQLAlchemyError) as exc:
            logger.warning(
                "broadcast %s: progress report to chat %s failed: %s",
                broadcast.id,
                chat_id,
                type(exc).__name__,
            )
        finally:
            if progress.finished:
                self._message_ids.pop(broadcast.id, None)

    async def _locale(self, chat_id: int) -> str:
        """The organizer's language when they also use the bot as a resident."""
        async with self.sessions() as session:
            person = await residents.find(session, Channel.TELEGRAM, str(chat_id))
        if person is not None and person.language in self.i18n.available_locales:
            return person.language
        return self.settings.default_locale

    async def _send(self, broadcast: Broadcast, chat_id: int, text: str) -> None:
        message = await self.bot.send_message(chat_id, text)
        self._message_ids[broadcast.id] = message.message_id
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast.id)
                .values(progress_message_id=message.message_id)
            )

    async def _edit(self, broadcast: Broadcast, chat_id: int, message_id: int, text: str) -> bool:
        """Edit the progress message; False when it is gone and a new one should be sent."""
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return True
            if "message to edit not found" in exc.message:
                logger.info("broadcast %s: progress message is gone; sending anew", broadcast.id)
                return False
            logger.warning(
                "broadcast %s: could not edit the progress message: %s", broadcast.id, exc.message
            )
        except TelegramAPIError as exc:
            logger.warning(
                "broadcast %s: could not edit the progress message: %s",
                broadcast.id,
                type(exc).__name__,
            )
        return True
