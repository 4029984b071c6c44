"""Sending one outbox message on Telegram, and translating the answer for the engine."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery.engine import Content, Outcome, SendResult


def content_markup(content: Content) -> InlineKeyboardMarkup | None:
    if content.button_text is None or content.button_url is None:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=content.button_text, url=content.button_url)]]
    )


class TelegramSender:
    """Uses a Bot whose request middleware does not retry: the engine schedules retries
    itself (persisted), and a 403 still marks the resident unreachable in that middleware."""

    def __init__(self, bot: Bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast or None

    async def send(self, content: Content, chat_id: str, *, tagged: bool = False) -> SendResult:
        """``tagged`` is Messenger's (a tagged event update); Telegram has no window."""
        markup = content_markup(content)
        try:
            if content.photo_file_id:
                message = await self.bot.send_photo(
                    int(chat_id),
                    content.photo_file_id,
                    caption=content.text or None,
                    reply_markup=markup,
                    allow_paid_broadcast=self.paid_broadcast,
                )
            else:
                message = await self.bot.send_message(
                    int(chat_id),
                    content.text,
                    reply_markup=markup,
                    allow_paid_broadcast=self.paid_broadcast,
                )
        except TelegramRetryAfter as exc:
            return SendResult(Outcome.RATE_LIMITED, retry_after=float(exc.retry_after))
        except TelegramForbiddenError as exc:
            return SendResult(Outcome.BLOCKED, error=exc.message[:255])
        except (TelegramServerError, TelegramNetworkError) as exc:
            return SendResult(Outcome.RETRY, error=type(exc).__name__)
        except (TelegramBadRequest, TelegramAPIError) as exc:
            return SendResult(Outcome.FAILED, error=exc.message[:255])
        return SendResult(Outcome.SENT, message_id=message.message_id)
