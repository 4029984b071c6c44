"""The main menu's entries. Polls, events and proposals arrive with their own features."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.channels.telegram.filters import MenuButton, Onboarded


async def polls(message: Message) -> None:
    await message.answer(
        _(
            "There are no open polls right now. When your municipality publishes one, "
            "you will find it here."
        )
    )


async def events(message: Message) -> None:
    await message.answer(
        _(
            "There are no upcoming events right now. Consultations, trainings and discussions "
            "you can register for will appear here."
        )
    )


async def proposal(message: Message) -> None:
    await message.answer(_("Proposals to the municipality cannot be sent through this bot yet."))


def create_router() -> Router:
    router = Router(name="menu")
    router.message.filter(F.chat.type == "private", Onboarded())
    router.message.register(polls, MenuButton("polls"))
    router.message.register(events, MenuButton("events"))
    router.message.register(proposal, MenuButton("proposal"))
    return router
