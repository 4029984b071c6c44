"""Event messages to other chats than the one being answered, shared by the Telegram and
Messenger flows: offers of a freed place (each resident on their own app) and notes to the
organizer; and the events' deep-link parameter (``evt_12`` / ``evt_12_plakatas``)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.notices import ResidentNotifier
from bot.channels.telegram import event_view as view
from bot.channels.telegram.event_jobs import messenger_offer_keyboard
from bot.config import Settings
from bot.services import events
from models import Channel, Registration, Resident

logger = logging.getLogger(__name__)

# ``evt_12`` or ``evt_12_poster-3`` (a poster's or link's source tag, stored with the
# registration). Telegram allows [A-Za-z0-9_-] in a start payload.
_EVENT_PAYLOAD = re.compile(r"^evt_(\d{1,9})(?:_([A-Za-z0-9_-]{1,32}))?$")


def event_link_from_payload(payload: str | None) -> tuple[int, str | None] | None:
    """``evt_12`` → (12, None); ``evt_12_skelbimas-1`` → (12, "skelbimas-1")."""
    match = _EVENT_PAYLOAD.match(payload or "")
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


# -- sending to other chats after the commit ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    resident: Resident | None = None  # a Messenger resident: sent by the notifier


async def send_all(
    bot: Bot, messages: list[Outgoing], notifier: ResidentNotifier | None = None
) -> None:
    for message in messages:
        if message.resident is not None:
            if notifier is not None:
                await notifier.send(
                    message.resident, message.text, message.markup, event_update=True
                )
            continue
        try:
            await bot.send_message(message.chat_id, message.text, reply_markup=message.markup)
        except TelegramAPIError as exc:
            logger.info("event message to chat %s not sent: %s", message.chat_id, exc.message)


async def offer_messages(
    session: AsyncSession,
    offered: list[Registration],
    *,
    i18n: I18n,
    settings: Settings,
    messenger: bool = False,
) -> list[Outgoing]:
    """The offer message for each registration given a freed place, in its resident's
    language (Telegram residents, and Messenger residents when ``messenger``; others see the
    offer under their registrations)."""
    ids = [r.resident_id for r in offered if r.resident_id is not None]
    if not ids:
        return []
    found = await session.scalars(select(Resident).where(Resident.id.in_(ids)))
    people = {resident.id: resident for resident in found}
    messages = []
    for registration in offered:
        resident = people.get(registration.resident_id or 0)
        if resident is None:
            continue
        on_messenger = resident.channel is Channel.MESSENGER
        if resident.channel is not Channel.TELEGRAM and not (messenger and on_messenger):
            continue
        event = await events.get_event(session, registration.event_id)
        if event is None:
            continue
        locale = resident.language if resident.language in i18n.available_locales else None
        locale = locale or settings.default_locale
        with i18n.use_locale(locale):
            messages.append(
                Outgoing(
                    0 if on_messenger else int(resident.external_id),
                    view.offer_text(event, registration, settings.tz, locale),
                    messenger_offer_keyboard(registration.id)
                    if on_messenger
                    else view.offer_keyboard(registration.id),
                    resident if on_messenger else None,
                )
            )
    return messages
