"""The moderators' morning digest of proposals waiting too long.

:class:`ProposalJobs` runs every minute from the scheduler (and can be called with any
``now``). Once the day's PROPOSAL_DIGEST_TIME has come (in TIMEZONE, Lithuanian time), the
first run inserts the day's ``daily_runs`` row — only one transaction can — and, in the
same transaction, reads the proposals whose status has not changed for more than
PROPOSAL_DIGEST_DAYS days (:func:`~bot.services.proposal_relay.waiting_digest`). After the
commit each bound moderators' chat gets one message listing its proposals (at most
:data:`MAX_LINES`, then how many more); the admins get one line per municipality that has
waiting proposals but no moderators' chat. Nothing waits: no message. A restart, a second
process or a run later that day finds the row and sends nothing; a bot down all morning
sends the digest when it comes back that day. Texts are in the deployment's language;
logs carry ids only.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import date, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram.proposal_view import category_label, status_name
from bot.config import Settings
from bot.db import dialect_of, insert_function
from bot.services.proposal_relay import DigestGroup, waiting_digest
from models import DailyRun, Municipality, Proposal, utcnow

logger = logging.getLogger(__name__)

DIGEST_JOB = "proposal_digest"
MAX_LINES = 15  # proposals listed in one chat's digest; the rest are counted
PREVIEW_LENGTH = 60


def days_text(count: int) -> str:
    """``1 diena``, ``3 dienos``, ``10 dienų``."""
    return _("{count} day", "{count} days", count).format(count=count)


def longer_than(days: int) -> str:
    """``ilgiau nei 1 dieną``, ``ilgiau nei 3 dienas``, ``ilgiau nei 10 dienų``."""
    return _("for more than {count} day", "for more than {count} days", days).format(count=days)


def waiting_text(count: int) -> str:
    """``1 pasiūlymas laukia``, ``3 pasiūlymai laukia``, ``10 pasiūlymų laukia``."""
    return _("{count} proposal waits", "{count} proposals wait", count).format(count=count)


def preview(text: str, length: int = PREVIEW_LENGTH) -> str:
    """The text on one line, cut at a word with an ellipsis, HTML-escaped."""
    flat = " ".join(text.split())
    if len(flat) > length:
        cut = flat[:length].rsplit(" ", 1)[0] or flat[:length]
        flat = cut.rstrip(",.;:–- ") + "…"
    return html.escape(flat)


def digest_line(proposal: Proposal, now: datetime) -> str:
    days = (now - proposal.status_changed_at).days
    reference = html.escape(proposal.reference)
    category_text = html.escape(category_label(proposal.category))
    status_text = status_name(proposal.status)
    return (
        f"• <b>{reference}</b> · {category_text} · {status_text} · {days_text(days)}\n"
        f"  „{preview(proposal.text)}“"
    )


def digest_text(group: DigestGroup, now: datetime, older_than_days: int) -> str:
    """One chat's digest (Telegram HTML, current gettext locale)."""
    count = len(group.proposals)
    waiting = waiting_text(count)
    lines = [
        _("🕗 <b>{waiting} {longer}:</b>").format(
            waiting=waiting, longer=longer_than(older_than_days)
        ),
        "",
    ]
    lines += [digest_line(proposal, now) for proposal in group.proposals[:MAX_LINES]]
    if count > MAX_LINES:
        rest = count - MAX_LINES
        lines.append(_("…and {count} more").format(count=rest))
    return "\n".join(lines)


def unbound_line(municipality: Municipality, count: int, older_than_days: int, locale: str) -> str:
    name = municipality.name_en if locale == "en" and municipality.name_en else municipality.name_lt
    return _("• {municipality}: {waiting} {longer}").format(
        municipality=html.escape(name),
        waiting=waiting_text(count),
        longer=longer_than(older_than_days),
    )


def admins_text(lines: list[str]) -> str:
    heading = _(
        "🕗 <b>Waiting proposals in municipalities without a moderators' chat</b> (bind one "
        "with /bind CODE in the municipality's group):"
    )
    return "\n".join([heading, "", *lines])


@dataclass(frozen=True, slots=True)
class DigestMessage:
    """One message prepared inside the transaction, sent after it."""

    chat_id: int
    text: str
    municipality_ids: tuple[int, ...]


async def claim_day(session: AsyncSession, job: str, day: date, now: datetime) -> bool:
    """Insert the (job, day) row; True for the one transaction that inserted it."""
    statement = (
        insert_function(dialect_of(session))(DailyRun)
        .values(job=job, day=day, ran_at=now)
        .on_conflict_do_nothing(index_elements=["job", "day"])
        .returning(DailyRun.day)
    )
    return (await session.execute(statement)).first() is not None


@dataclass
class ProposalJobs:
    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    i18n: I18n
    settings: Settings

    async def run(self, now: datetime | None = None) -> list[DigestMessage]:
        return await self.digest(now)

    async def digest(self, now: datetime | None = None) -> list[DigestMessage]:
        """Send the day's digest if its time has come and it was not sent yet; returns the
        messages sent by this call."""
        moment = now or utcnow()
        local = moment.astimezone(self.settings.tz)
        if local.time() < self.settings.proposal.digest_time:
            return []
        async with self.sessions() as session, session.begin():
            if not await claim_day(session, DIGEST_JOB, local.date(), moment):
                return []
            messages = await self._prepare(session, moment)
        logger.info("proposal digest for %s: %d messages", local.date(), len(messages))
        return [message for message in messages if await self._send(message)]

    async def _prepare(self, session: AsyncSession, now: datetime) -> list[DigestMessage]:
        days = self.settings.proposal.digest_days
        groups = await waiting_digest(session, now=now, older_than_days=days)
        locale = self.settings.default_locale
        messages = []
        unbound: list[tuple[int, str]] = []
        with self.i18n.context(), self.i18n.use_locale(locale):
            for group in groups:
                if group.chat_id is not None:
                    text = digest_text(group, now, days)
                    messages.append(DigestMessage(group.chat_id, text, (group.municipality_id,)))
                    continue
                municipality = await session.scalar(
                    select(Municipality).where(Municipality.id == group.municipality_id)
                )
                if municipality is not None:
                    line = unbound_line(municipality, len(group.proposals), days, locale)
                    unbound.append((group.municipality_id, line))
            if unbound:
                text = admins_text([line for _id, line in unbound])
                ids = tuple(municipality_id for municipality_id, _line in unbound)
                messages += [
                    DigestMessage(admin_id, text, ids)
                    for admin_id in dict.fromkeys(self.settings.telegram.admin_ids)
                ]
        return messages

    async def _send(self, message: DigestMessage) -> bool:
        try:
            await self.bot.send_message(message.chat_id, message.text)
        except TelegramAPIError as exc:
            logger.warning(
                "proposal digest to chat %s (municipalities %s) failed: %s",
                message.chat_id,
                message.municipality_ids,
                type(exc).__name__,
            )
            return False
        return True
