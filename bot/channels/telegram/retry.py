"""The one place every Bot API call passes through: bounded retries and blocked chats.

aiogram has no flood control or retry of its own: 429 (``TelegramRetryAfter``) and 5xx
surface to the caller. This request middleware waits ``retry_after`` on 429, backs off
exponentially on 5xx and network errors, and reports 403 so the resident is marked
unreachable. Loops are bounded; nothing recurses.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)

ForbiddenCallback = Callable[[int], Awaitable[None]]


class RetryRequestMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = 120.0,
        on_forbidden: ForbiddenCallback | None = None,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.on_forbidden = on_forbidden

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at ``max_delay``."""
        delay: float = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.max_attempts or exc.retry_after > self.max_retry_after:
                    raise
                logger.warning(
                    "%s: 429, retrying in %s s (attempt %d)", name, exc.retry_after, attempt
                )
                await asyncio.sleep(exc.retry_after)
            except TelegramEntityTooLarge:
                raise
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt == self.max_attempts:
                    raise
                delay = self.backoff(attempt)
                logger.warning(
                    "%s: %s, retrying in %.1f s (attempt %d)",
                    name,
                    type(exc).__name__,
                    delay,
                    attempt,
                )
                await asyncio.sleep(delay)
            except TelegramForbiddenError:
                chat_id = _chat_id(method)
                if chat_id is not None and self.on_forbidden is not None:
                    await self.on_forbidden(chat_id)
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")


def _chat_id(method: TelegramMethod[Any]) -> int | None:
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None
