"""Whatever no other handler took: a short, polite answer, and never a lost step.

Registered last. In group chats the bot stays silent unless addressed by a command it knows.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram.onboarding import Step, next_step, show_step
from bot.config import Settings
from models import Resident


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."))


async def unknown_command(
    message: Message,
    resident: Resident | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    await message.answer(_("I do not know this command. Please use the buttons, or /help."))
    if next_step(resident) is not Step.DONE:
        await show_step(message, resident, session, settings, i18n.current_locale)


async def unexpected_text(
    message: Message,
    resident: Resident | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    step = next_step(resident)
    if step is Step.DONE:
        await message.answer(
            _("Sorry, I did not understand. Please choose an action with the buttons below.")
        )
    else:
        await message.answer(_("Please answer by pressing one of the buttons."))
    await show_step(message, resident, session, settings, i18n.current_locale)


async def unexpected_content(
    message: Message,
    resident: Resident | None,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    await message.answer(
        _("I cannot use this kind of message here. Please use the buttons or write text.")
    )
    await show_step(message, resident, session, settings, i18n.current_locale)


def create_router() -> Router:
    router = Router(name="fallback")
    router.callback_query.register(stale_button)
    router.message.register(unknown_command, F.chat.type == "private", F.text.startswith("/"))
    router.message.register(unexpected_text, F.chat.type == "private", F.text)
    router.message.register(unexpected_content, F.chat.type == "private")
    return router
