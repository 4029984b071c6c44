"""Organizers read a poll's results and export its answers.

``/poll_results ID``: the counts, percentages, per-municipality breakdown and reach as
text, then one bar chart per choice or scale question. ``/poll_export ID``: the answers
as CSV and XLSX files with residents' pseudonyms. Organizers only, in a private chat;
organizers of one deployment share their polls, so any organizer may read any poll.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import poll_chart
from bot.channels.telegram import poll_results as view
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.filters import is_organizer
from bot.channels.telegram.replies import answer_exports
from bot.config import ConfigError, Settings, require_pseudonym_secret
from bot.services import poll_export, polls
from models import Poll

logger = logging.getLogger(__name__)


async def _poll(message: Message, command: CommandObject, session: AsyncSession) -> Poll | None:
    """The poll named in the command, or None after telling the organizer why not."""
    argument = (command.args or "").strip().removeprefix("#").removeprefix("Nr.").strip()
    if not argument.isdigit() or len(argument) > 9:
        await message.answer(
            _(
                "Please add the poll's number, for example: /{command} 12",
            ).format(command=command.command)
        )
        return None
    poll = await polls.get_poll(session, int(argument))
    if poll is None:
        await message.answer(
            _("There is no poll no. {id}. Please check the number.").format(id=int(argument))
        )
    return poll


async def show_results(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
) -> None:
    """The texts now; the charts after the update's transaction has committed, so drawing
    them (a fraction of a second each, in a worker thread) holds no database lock."""
    poll = await _poll(message, command, session)
    if poll is None:
        return
    locale = i18n.current_locale
    tally = await polls.tally(session, poll.id)
    assert tally is not None
    by_municipality = await polls.tally_by_municipality(session, poll.id)
    reached = await poll_export.residents_reached(session, poll.id)
    for text in view.results_messages(
        poll, tally, by_municipality, reached, tz=settings.tz, locale=locale
    ):
        await message.answer(text)
    charts = poll_chart.charts_of(poll.id, tally, locale)
    if charts:
        chat_id = message.chat.id
        after_commit(session, lambda: poll_chart.send_charts(bot, chat_id, charts))


async def export_answers(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    poll = await _poll(message, command, session)
    if poll is None:
        return
    try:
        secret = require_pseudonym_secret(settings)
    except ConfigError:
        await message.answer(
            _(
                "Exports are not set up yet: the administrator has to set "
                "RESEARCH_PSEUDONYM_SECRET in the bot's settings."
            )
        )
        return

    def caption(count: int) -> str:
        return _(
            "Answers to poll no. {id}: {rows}. Residents are shown by pseudonym, "
            "never by their chat number."
        ).format(
            id=poll.id,
            rows=_("{count} row", "{count} rows", count).format(
                count=view.number(count, i18n.current_locale)
            ),
        )

    count = await answer_exports(
        message,
        lambda fmt: poll_export.export_filename(poll.id, fmt),
        lambda fmt, path: poll_export.write_export(session, poll.id, secret, fmt, path),
        caption,
    )
    logger.info("poll %s exported for %s: %s answers", poll.id, message.chat.id, count)


async def refuse(message: Message) -> None:
    await message.answer(_("Sorry, only organizers can do this."))


def create_router() -> Router:
    router = Router(name="poll_results")
    router.message.filter(F.chat.type == "private")
    router.message.register(show_results, Command("poll_results"), is_organizer)
    router.message.register(export_answers, Command("poll_export"), is_organizer)
    router.message.register(refuse, Command("poll_results", "poll_export"))
    return router
