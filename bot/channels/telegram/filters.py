"""Filters shared by the handler modules."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram.texts import menu_label_in_every_locale
from bot.services import roles
from models import Resident


class MenuButton(Filter):
    """A press of a main-menu button, in whichever language the keyboard was sent."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text in menu_label_in_every_locale(self.key)


class Onboarded(Filter):
    """The resident has consented and chosen a municipality and an age group (or skipped it)."""

    async def __call__(self, _event: object, resident: Resident | None = None) -> bool:
        return resident is not None and resident.is_onboarded


async def is_organizer(
    _event: TelegramObject, session: AsyncSession, event_from_user: User | None = None
) -> bool:
    """The person who sent the update holds the organizer role."""
    return event_from_user is not None and await roles.is_organizer(session, event_from_user.id)


def typed_text(message: Message) -> bool:
    """Typed text that is not a command (commands keep their own meaning)."""
    return message.text is not None and not message.text.startswith("/")


_MENU_KEYS = ("polls", "events", "proposal", "settings")


def typed_answer(message: Message) -> bool:
    """Typed text that is neither a command nor a main-menu button (those keep their
    meaning while a question waits for its answer)."""
    if not typed_text(message):
        return False
    return not any(message.text in menu_label_in_every_locale(key) for key in _MENU_KEYS)
