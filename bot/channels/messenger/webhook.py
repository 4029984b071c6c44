"""The Messenger webhook on the bot's aiohttp server.

GET is Meta's subscription handshake (the verify token we chose); POST carries events,
signed with the app secret in ``X-Hub-Signature-256``. A POST is answered at once: the
events are handled in the background, one PSID's in order.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass

from aiohttp import web

from bot.channels.messenger import signature
from bot.channels.messenger.client import GraphClient
from bot.channels.messenger.dispatcher import MessengerDispatcher
from bot.channels.messenger.events import MalformedEvent, parse
from bot.config import MessengerSettings

logger = logging.getLogger(__name__)


@dataclass
class MessengerChannel:
    """The running Messenger channel: its settings, Graph API client and dispatcher."""

    settings: MessengerSettings
    graph: GraphClient
    dispatcher: MessengerDispatcher

    def add_routes(self, app: web.Application) -> None:
        add_messenger_routes(app, self)

    async def close(self, timeout: float = 30.0) -> None:
        """Wait for the events being handled, then close the client."""
        await self.dispatcher.close(timeout)
        await self.graph.close()


def add_messenger_routes(app: web.Application, channel: MessengerChannel) -> None:
    """GET (the subscription handshake) and POST (events) on ``MESSENGER_PATH``."""
    settings = channel.settings
    dispatcher = channel.dispatcher
    assert settings.verify_token is not None and settings.app_secret is not None
    verify_token = settings.verify_token.get_secret_value()
    app_secret = settings.app_secret.get_secret_value()

    async def handshake(request: web.Request) -> web.Response:
        mode = request.query.get("hub.mode", "")
        token = request.query.get("hub.verify_token", "")
        if mode == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
            logger.info("messenger: webhook subscription verified")
            return web.Response(text=request.query.get("hub.challenge", ""))
        logger.warning("messenger: webhook handshake refused")
        return web.Response(status=403)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not signature.verify(app_secret, body, request.headers.get(signature.HEADER)):
            logger.warning(
                "messenger: POST with a %s signature refused (%s bytes)",
                "wrong" if signature.HEADER in request.headers else "missing",
                len(body),
            )
            return web.Response(status=403)
        try:
            events = parse(json.loads(body))
        except (ValueError, MalformedEvent):
            logger.warning("messenger: signed POST, not a webhook body (%s bytes)", len(body))
            return web.Response(status=400)
        dispatcher.submit(events)
        return web.Response(text="EVENT_RECEIVED")

    app.router.add_get(settings.path, handshake)
    app.router.add_post(settings.path, receive)
