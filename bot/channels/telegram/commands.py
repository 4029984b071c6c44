"""The bot's command menu (the "/" list and the Menu button).

Everyone sees the residents' commands (default scope, one list per language). Organizers and
admins see their own commands as well, in their private chat with the bot: a list for that
chat (``BotCommandScopeChat``, again per language, since Telegram prefers a chat's list to
every general one). Those lists are set at start-up for every organizer and admin, and when
an admin grants or removes the organizer role; a chat with no role left gets its list
deleted, so it falls back to the residents' commands.

Not essential: a failure (Telegram refuses a chat it has never seen — "chat not found" —
until the person has written to the bot) is logged and the bot keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, MenuButtonCommands
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram.texts import N_
from bot.config import SUPPORTED_LOCALES, Settings
from bot.services import roles

logger = logging.getLogger(__name__)

RESIDENT_COMMANDS = (
    ("start", N_("Start or open the main menu")),
    ("help", N_("How to use the bot")),
    ("language", N_("Change the language")),
    ("municipality", N_("Change the municipality")),
    ("privacy", N_("Privacy notice")),
    ("mydata", N_("Download my data")),
    ("forget", N_("Delete my data")),
    ("link", N_("Link with Messenger")),
)
ORGANIZER_COMMANDS = (
    ("newpoll", N_("Create a poll")),
    ("polls", N_("My polls: close or cancel")),
    ("poll_results", N_("A poll's results: /poll_results NUMBER")),
    ("poll_export", N_("A poll's answers as files: /poll_export NUMBER")),
    ("announce", N_("Write an announcement")),
    ("announcements", N_("My announcements")),
    ("newevent", N_("Create an event")),
    ("events", N_("My events: change the time or place, cancel")),
    ("event_link", N_("A poster link and QR code: /event_link NUMBER TAG")),
    ("attendance", N_("Mark who came: /attendance NUMBER")),
    ("event_export", N_("An event's registrations as files: /event_export NUMBER")),
    ("report", N_("Events report against the programme's targets")),
    ("proposals_export", N_("A municipality's proposals as files: /proposals_export CODE")),
)
ADMIN_COMMANDS = (
    ("roles", N_("Organizers, moderators and their chats")),
    ("organizer_add", N_("Make someone an organizer: /organizer_add ID")),
    ("organizer_remove", N_("Remove an organizer: /organizer_remove ID")),
    ("moderator_add", N_("Add a moderator: /moderator_add CODE ID")),
    ("moderator_remove", N_("Remove a moderator: /moderator_remove CODE ID")),
    ("activate", N_("Offer a municipality to residents: /activate CODE")),
    ("deactivate", N_("Stop offering a municipality: /deactivate CODE")),
)


def bot_commands(
    i18n: I18n, locale: str, *, organizer: bool = False, admin: bool = False
) -> list[BotCommand]:
    """The menu in ``locale``: residents' commands, then the organizer's, then the admin's."""
    commands = list(RESIDENT_COMMANDS)
    if organizer:
        commands += ORGANIZER_COMMANDS
    if admin:
        commands += ADMIN_COMMANDS
    return [
        BotCommand(command=name, description=i18n.gettext(description, locale=locale))
        for name, description in commands
    ]


async def set_up_bot_profile(
    bot: Bot, i18n: I18n, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Commands and menu button, then the staff's own menus. Not essential: a failure is
    logged and the bot keeps serving."""
    try:
        await bot.set_my_commands(bot_commands(i18n, settings.default_locale))
        for locale in SUPPORTED_LOCALES:
            await bot.set_my_commands(bot_commands(i18n, locale), language_code=locale)
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
    except (TelegramAPIError, OSError) as exc:
        logger.warning("could not set the bot's commands and menu: %s", type(exc).__name__)
    await set_staff_menus(bot, i18n, settings, session_factory)


async def set_staff_menus(
    bot: Bot, i18n: I18n, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The menu of every organizer's and admin's private chat."""
    async with session_factory() as session:
        organizers = set(await roles.organizer_ids(session))
    admins = set(settings.telegram.admin_ids)
    for chat_id in sorted(organizers | admins):
        await set_staff_menu(
            bot,
            i18n,
            settings,
            chat_id,
            organizer=chat_id in organizers,
            admin=chat_id in admins,
        )


async def set_staff_menu(
    bot: Bot, i18n: I18n, settings: Settings, chat_id: int, *, organizer: bool, admin: bool
) -> bool:
    """Set (or, with no role, delete) the menu of one person's private chat; False when
    Telegram refused (logged)."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    languages: Collection[str | None] = (None, *SUPPORTED_LOCALES)
    try:
        for language in languages:
            if not organizer and not admin:
                await bot.delete_my_commands(scope=scope, language_code=language)
                continue
            commands = bot_commands(
                i18n, language or settings.default_locale, organizer=organizer, admin=admin
            )
            await bot.set_my_commands(commands, scope=scope, language_code=language)
    except (TelegramAPIError, OSError) as exc:
        logger.warning("could not set the commands of chat %s: %s", chat_id, type(exc).__name__)
        return False
    return True
