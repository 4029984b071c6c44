"""``/proposals_export CODE [FROM [TO]]``: a municipality's proposals as CSV and XLSX files
(no chat ids, no names), submitted in the days given (Lithuanian time, both included).

Organizers and admins may export any municipality's proposals; a moderator only those of
the municipalities they moderate. In a private chat only (a group would show the files to
everyone in it); everyone else gets a polite refusal and nothing is written.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram.replies import answer_exports
from bot.config import Settings
from bot.i18n import long_date
from bot.services import municipalities, proposal_export_files, roles
from bot.services.proposal_export_files import ExportScope
from models import Moderator, Municipality

logger = logging.getLogger(__name__)

COMMAND = "proposals_export"


def usage() -> str:
    return _(
        "Please add the municipality's code and, if you wish, the days, for example: "
        "/proposals_export PAG or /proposals_export PAG 2026-01-01 2026-12-31"
    )


def caption(municipality: Municipality, count: int, scope: ExportScope, locale: str) -> str:
    """``Pagėgių savivaldybė – pasiūlymų: 4`` and the days, if given."""
    name = municipality.name_en if locale == "en" and municipality.name_en else municipality.name_lt
    lines = [
        _("{municipality} – proposals: {count}").format(municipality=html.escape(name), count=count)
    ]
    first = long_date(scope.since, scope.tz, locale) if scope.since else None
    last = long_date(scope.until - timedelta(hours=12), scope.tz, locale) if scope.until else None
    if first and last:
        lines.append(_("Submitted from {since} to {until}").format(since=first, until=last))
    elif first:
        lines.append(_("Submitted from {since}").format(since=first))
    elif last:
        lines.append(_("Submitted until {until}").format(until=last))
    return "\n".join(lines)


async def exportable(session: AsyncSession, settings: Settings, user_id: int) -> list[int] | None:
    """The municipalities whose proposals the user may export: None for every one (admins
    and organizers), else those they moderate (empty: none)."""
    if roles.is_admin(settings.telegram.admin_ids, user_id):
        return None
    if await roles.is_organizer(session, user_id):
        return None
    moderated = await session.scalars(
        select(Moderator.municipality_id).where(Moderator.telegram_user_id == user_id)
    )
    return list(moderated)


async def export_proposals(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    user_id = message.from_user.id
    allowed = await exportable(session, settings, user_id)
    if allowed == []:
        await message.answer(_("Sorry, only organizers and moderators can do this."))
        return
    words = (command.args or "").split()
    if not words or len(words) > 3:
        await message.answer(usage())
        return
    code = words[0].upper()
    municipality = await municipalities.get_by_code(session, code) if len(code) <= 3 else None
    if municipality is None:
        await message.answer(
            _("There is no municipality with the code {code}. {usage}").format(
                code=html.escape(words[0][:20]), usage=usage()
            )
        )
        return
    if allowed is not None and municipality.id not in allowed:
        await message.answer(
            _(
                "Sorry, you may export only the proposals of the municipality you moderate. "
                "Organizers can export every municipality's."
            )
        )
        return
    first = words[1] if len(words) > 1 else None
    last = words[2] if len(words) > 2 else None
    try:
        scope = ExportScope.of_days(municipality.id, first, last, settings.tz)
    except ValueError:
        await message.answer(
            _(
                "I did not understand the dates. Please give the days like this: "
                "/proposals_export PAG 2026-01-01 2026-12-31"
            )
        )
        return
    count = await answer_exports(
        message,
        lambda fmt: proposal_export_files.export_filename(municipality.code, scope, fmt),
        lambda fmt, path: proposal_export_files.write_export(session, scope, fmt, path),
        lambda count: caption(municipality, count, scope, i18n.current_locale),
    )
    logger.info(
        "proposals of municipality %s exported for %s: %s rows", municipality.id, user_id, count
    )


def create_router() -> Router:
    router = Router(name="proposal_export")
    router.message.filter(F.chat.type == "private")
    router.message.register(export_proposals, Command(COMMAND))
    return router
