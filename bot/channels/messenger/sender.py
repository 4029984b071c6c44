"""Sending one outbox message on Messenger, and translating the Graph API's answer for the
delivery engine.

A broadcast is written for Telegram: its text is Telegram HTML (shown here as plain text),
its button a link (a ``web_url`` button of a button template), its photo a Telegram file id.
The photo is downloaded once through the Telegram bot and uploaded once to Messenger as a
reusable attachment per broadcast; every resident then gets the same attachment id, before
the text.

Inside the resident's 24-hour window a message goes as ``UPDATE``; ``tagged`` (outside the
window, an event's reminder or change to the people registered, when allowed) as
``MESSAGE_TAG`` with ``CONFIRMED_EVENT_UPDATE``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.channels.messenger.client import (
    CONFIRMED_EVENT_UPDATE,
    GraphClient,
    GraphUnavailable,
    MessagingType,
    MessengerError,
    OutsideWindow,
    RateLimited,
    RecipientUnreachable,
    message_bodies,
)
from bot.channels.messenger.messages import Button, OutMessage, html_to_text, short_title
from bot.delivery.engine import Content, Outcome, SendResult

logger = logging.getLogger(__name__)

# Graph gives no retry-after with its rate-limit errors (and the client has already backed
# off a few times): pause the page's sending this long.
RATE_LIMIT_PAUSE_SECONDS = 10.0
# Attachment ids remembered (one per broadcast with a photo being sent).
ATTACHMENTS_KEPT = 64
PLACEHOLDER_ATTACHMENT = "0"


# A Telegram deep link into the bot (an invitation's "Atsakyti" / "Registruotis"):
# https://t.me/<bot>?start=<param>. On Messenger it opens the same thing in this chat.
_TELEGRAM_DEEP_LINK = re.compile(r"^https://t\.me/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]{1,64})$")


def content_button(title: str, url: str) -> Button:
    """A broadcast's button: a link, or a postback ``start:<param>`` where the link is a
    Telegram deep link into the bot (answer a poll, register to an event) — Messenger
    residents do that here, without Telegram."""
    deep_link = _TELEGRAM_DEEP_LINK.match(url)
    if deep_link is not None:
        return Button(short_title(title), payload=f"start:{deep_link.group(1)}")
    return Button(short_title(title), url=url)


def content_message(content: Content, attachment_id: str | None = None) -> OutMessage:
    """The Messenger message of a broadcast (``attachment_id``: its uploaded photo)."""
    text = html_to_text(content.text).strip()
    buttons: tuple[Button, ...] = ()
    if content.button_text and content.button_url:
        buttons = (content_button(content.button_text, content.button_url),)
        if not text:  # a button template needs a text
            text = content.button_text
    return OutMessage(text=text, buttons=buttons, image_attachment_id=attachment_id)


class MessengerSender:
    """The delivery engine's sender for Messenger (see the module's docstring)."""

    def __init__(self, graph: GraphClient, telegram_bot: Bot) -> None:
        self.graph = graph
        self.telegram_bot = telegram_bot
        self._attachments: OrderedDict[int, str] = OrderedDict()
        self._uploading: dict[int, asyncio.Lock] = {}

    def calls(self, content: Content) -> int:
        """How many Send API calls one message of ``content`` takes (each takes a slot of
        the page's rate)."""
        placeholder = PLACEHOLDER_ATTACHMENT if content.photo_file_id else None
        return max(1, len(message_bodies(content_message(content, placeholder), placeholder)))

    async def attachment_id(self, content: Content) -> str:
        """The broadcast's photo as a Messenger attachment: downloaded from Telegram and
        uploaded once per broadcast, however many residents it goes to."""
        known = self._attachments.get(content.broadcast_id)
        if known is not None:
            return known
        lock = self._uploading.setdefault(content.broadcast_id, asyncio.Lock())
        async with lock:
            known = self._attachments.get(content.broadcast_id)
            if known is not None:
                return known
            assert content.photo_file_id is not None
            data = await self.telegram_bot.download(content.photo_file_id)
            assert data is not None
            attachment = await self.graph.upload_image(data.read(), "photo.jpg")
            self._attachments[content.broadcast_id] = attachment
            while len(self._attachments) > ATTACHMENTS_KEPT:
                self._attachments.popitem(last=False)
            logger.info("broadcast %s: photo uploaded to Messenger", content.broadcast_id)
        self._uploading.pop(content.broadcast_id, None)
        return attachment

    async def send(self, content: Content, chat_id: str, *, tagged: bool = False) -> SendResult:
        try:
            attachment = await self.attachment_id(content) if content.photo_file_id else None
        except TelegramAPIError as exc:
            logger.warning(
                "broadcast %s: photo not downloaded from Telegram: %s",
                content.broadcast_id,
                type(exc).__name__,
            )
            return SendResult(Outcome.RETRY, error=f"photo download: {type(exc).__name__}")
        except MessengerError as exc:
            return self._result(exc)
        message = content_message(content, attachment)
        try:
            if tagged:
                await self.graph.send(
                    chat_id,
                    message,
                    messaging_type=MessagingType.MESSAGE_TAG,
                    tag=CONFIRMED_EVENT_UPDATE,
                )
            else:
                await self.graph.send(chat_id, message, messaging_type=MessagingType.UPDATE)
        except MessengerError as exc:
            return self._result(exc)
        except ValueError as exc:  # our message broke Messenger's limits: no use retrying
            return SendResult(Outcome.FAILED, error=str(exc)[:255])
        # Messenger's message ids are strings; the outbox keeps Telegram's numeric ids only.
        return SendResult(Outcome.SENT)

    @staticmethod
    def _result(exc: MessengerError) -> SendResult:
        error = f"{exc.code}/{exc.subcode}: {exc.message}"[:255]
        if isinstance(exc, OutsideWindow):
            return SendResult(Outcome.HELD, error=error)
        if isinstance(exc, RecipientUnreachable):
            return SendResult(Outcome.BLOCKED, error=error)
        if isinstance(exc, RateLimited):
            return SendResult(
                Outcome.RATE_LIMITED, retry_after=RATE_LIMIT_PAUSE_SECONDS, error=error
            )
        if isinstance(exc, GraphUnavailable):
            return SendResult(Outcome.RETRY, error=error)
        return SendResult(Outcome.FAILED, error=error)
