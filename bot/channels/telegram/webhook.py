"""The aiohttp server Telegram posts updates to."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.channels.telegram.dispatcher import DalyvaukDispatcher
from bot.config import WebhookSettings

logger = logging.getLogger(__name__)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_webhook_app(
    dispatcher: DalyvaukDispatcher, bot: Bot, settings: WebhookSettings
) -> web.Application:
    """Checks the secret header in constant time (aiogram uses secrets.compare_digest),
    answers 200 at once and handles the update in the background."""
    secret = settings.secret.get_secret_value() if settings.secret else None
    app = web.Application()
    app.router.add_get("/healthz", _health)
    SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path=settings.path)
    setup_application(app, dispatcher, bot=bot)

    async def register_webhook(_app: web.Application) -> None:
        assert settings.url is not None
        url = settings.url.rstrip("/") + settings.path
        await bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        logger.info("webhook registered at %s", settings.path)

    app.on_startup.append(register_webhook)
    return app
