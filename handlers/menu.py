"""The main menu's entries."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, invert_f
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import poll_answering as poll_view
from bot.channels.telegram.filters import MenuButton, Onboarded, is_organizer
from bot.config import Settings
from bot.services import polls as poll_service
from handlers import events, proposals
from models import Resident


async def polls(
    message: Message, session: AsyncSession, resident: Resident, settings: Settings, i18n: I18n
) -> None:
    items = await poll_service.list_open_for(session, resident)
    if not items:
        await message.answer(poll_view.no_open_polls())
        return
    await message.answer(
        poll_view.open_polls_text(items, settings.tz, i18n.current_locale),
        reply_markup=poll_view.open_polls_keyboard(items),
    )


def create_router() -> Router:
    router = Router(name="menu")
    router.message.filter(F.chat.type == "private", Onboarded())
    router.message.register(polls, MenuButton("polls"))
    # Organizers' /polls lists the polls they run (handlers.poll_admin); a resident who
    # types it gets the open polls, as from the menu button.
    router.message.register(polls, Command("polls"), invert_f(is_organizer))
    router.message.register(events.events_menu, MenuButton("events"))
    # Organizers' /events lists the events they run; residents get the upcoming ones.
    router.message.register(events.events_menu, Command("events"), invert_f(is_organizer))
    # "Pateikti pasiūlymą" starts a proposal (its steps and Mano pasiūlymai: handlers.proposals).
    router.message.register(proposals.start, MenuButton("proposal"))
    return router
