"""Keeps aiogram's ``Response[T]`` models alive, so pydantic builds each one once.

aiogram validates every Bot API answer with ``Response[method.__returning__]``. Pydantic
caches parametrised models weakly: between two calls the class is often collected, and the
next call builds its schema again (milliseconds of CPU, on every call of a busy bot). This
request middleware holds one strong reference per method class, which the cache then
finds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot


class KeepResponseModels(BaseRequestMiddleware):
    def __init__(self) -> None:
        self._models: dict[type[Any], type[Any]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._models:
            self._models[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)
