"""One personal message to a resident, on the app they use (their address).

Proposal statuses, moderators' questions, event changes, waitlist offers: code that
writes such a message builds it once, as Telegram HTML with an inline keyboard, and calls
:meth:`ResidentNotifier.send`.

* Telegram: sent as it is.
* Messenger: plain text; an inline callback button becomes a postback button whose payload
  is the same callback data (Messenger flows parse it with the same ``CallbackData``
  classes), a link button a ``web_url`` button. Inside the resident's 24-hour window it is
  sent (``UPDATE``); outside it an event update (``event_update=True``) goes with the
  ``CONFIRMED_EVENT_UPDATE`` tag when MESSENGER_EVENT_UPDATE_TAG allows it; anything else is
  kept as a :class:`~models.HeldNotice` and sent when the resident next writes
  (``bot.channels.messenger.held``).

Platform errors never reach the caller: they are logged with ids only.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.messenger.client import (
    CONFIRMED_EVENT_UPDATE,
    GraphClient,
    MessagingType,
    MessengerError,
    OutsideWindow,
    RecipientUnreachable,
)
from bot.channels.messenger.messages import (
    MAX_BUTTONS,
    MAX_PAYLOAD,
    Button,
    OutMessage,
    html_to_text,
    short_title,
)
from bot.config import Settings
from bot.services import messaging_window, residents
from bot.services.messaging_window import WindowDecision
from models import Channel, HeldNotice, Resident, utcnow

logger = logging.getLogger(__name__)


def buttons_of(markup: InlineKeyboardMarkup | None) -> list[dict[str, str]]:
    """An inline keyboard as Messenger buttons (``{"title", "payload"}`` postbacks or
    ``{"title", "url"}`` links), at most three; other kinds of buttons are left out."""
    if markup is None:
        return []
    found: list[dict[str, str]] = []
    for row in markup.inline_keyboard:
        for button in row:
            title = short_title(button.text)
            if button.url:
                found.append({"title": title, "url": button.url})
            elif button.callback_data and len(button.callback_data) <= MAX_PAYLOAD:
                found.append({"title": title, "payload": button.callback_data})
    if len(found) > MAX_BUTTONS:
        logger.warning("a notice has %d buttons; Messenger shows %d", len(found), MAX_BUTTONS)
    return found[:MAX_BUTTONS]


def out_message(text: str, buttons: list[dict[str, str]]) -> OutMessage:
    """A notice (plain text, stored buttons) as a Messenger message."""
    return OutMessage(
        text=text,
        buttons=tuple(
            Button(item["title"], payload=item.get("payload"), url=item.get("url"))
            for item in buttons
        ),
    )


class ResidentNotifier:
    def __init__(
        self,
        bot: Bot,
        graph: GraphClient | None,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> None:
        self.bot = bot
        self.graph = graph
        self.sessions = session_factory
        self.settings = settings

    async def send(
        self,
        resident: Resident,
        text_html: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        event_update: bool = False,
    ) -> None:
        """Send ``text_html`` to the resident on their app (see the module's docstring);
        ``event_update``: a change or reminder of an event they registered to."""
        if resident.channel is Channel.MESSENGER:
            await self._messenger(resident, text_html, markup, event_update=event_update)
            return
        try:
            await self.bot.send_message(int(resident.external_id), text_html, reply_markup=markup)
        except TelegramForbiddenError:
            logger.info("resident %s has blocked the bot; notice not sent", resident.id)
        except TelegramAPIError as exc:
            logger.warning(
                "resident %s: notice not sent on Telegram: %s", resident.id, type(exc).__name__
            )

    async def _messenger(
        self,
        resident: Resident,
        text_html: str,
        markup: InlineKeyboardMarkup | None,
        *,
        event_update: bool,
    ) -> None:
        psid = resident.external_id
        text = html_to_text(text_html).strip()
        buttons = buttons_of(markup)
        async with self.sessions() as session:
            account = await residents.find_account(session, Channel.MESSENGER, psid)
        decision = messaging_window.decide(
            account.last_inbound_at if account is not None else None,
            utcnow(),
            may_tag=event_update,
            tag_enabled=self.settings.messenger.event_update_tag,
        )
        if self.graph is None:  # Messenger is off in this process: keep it for later
            decision = WindowDecision.HOLD
        if decision is WindowDecision.HOLD:
            await self._hold(resident.id, text, buttons)
            return
        assert self.graph is not None
        message = out_message(text, buttons)
        try:
            if decision is WindowDecision.SEND_TAGGED:
                await self.graph.send(
                    psid,
                    message,
                    messaging_type=MessagingType.MESSAGE_TAG,
                    tag=CONFIRMED_EVENT_UPDATE,
                )
            else:
                await self.graph.send(psid, message, messaging_type=MessagingType.UPDATE)
        except OutsideWindow:
            await self._hold(resident.id, text, buttons)
        except RecipientUnreachable:
            logger.info("resident %s is unreachable on Messenger; notice not sent", resident.id)
            async with self.sessions() as session, session.begin():
                await residents.mark_unreachable(session, Channel.MESSENGER, psid)
        except (MessengerError, ValueError) as exc:
            logger.warning(
                "resident %s: notice not sent on Messenger: %s", resident.id, type(exc).__name__
            )

    async def _hold(self, resident_id: int, text: str, buttons: list[dict[str, str]]) -> None:
        async with self.sessions() as session, session.begin():
            session.add(HeldNotice(resident_id=resident_id, text=text, buttons=buttons))
        logger.info("resident %s: notice held until they write on Messenger", resident_id)
