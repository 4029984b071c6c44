"""Driving the real bot as a Messenger resident would.

The real application (``create_application``) serves the Messenger webhook on its web
server (``start_web_server``, as ``dalyvauk run`` does) on 127.0.0.1; the local Graph API
(``bot.localgraph``) posts Meta-shaped, signed webhook events to it and records what the
bot sends. Moderators stay on Telegram: the local Bot API and :class:`BotHarness` are there.

Every action waits until the dispatcher has finished with that PSID's events, so tests
assert without sleeping::

    async def test_x(messenger: MessengerHarness) -> None:
        ona = messenger.user("psid-1")
        await ona.onboard(municipality="PAG")
        await ona.tap("Apklausos")
        assert "…" in ona.last_text
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.app import Application, start_web_server
from bot.channels.messenger.dispatcher import MessengerDispatcher
from bot.localapi.server import LocalBotAPI
from bot.localgraph import LocalGraphAPI, SentMessage
from bot.services.municipalities import read_reference
from tests.support.harness import BotHarness, free_port, harness_settings

APP_SECRET = "test-app-secret"
PAGE_TOKEN = "test-page-token"
VERIFY_TOKEN = "test-verify-token"

_mids = itertools.count(1)


def messenger_settings(
    database_url: str, api: LocalBotAPI, graph: LocalGraphAPI, **extra: Any
) -> Any:
    """Settings with Messenger on (pointing at ``graph``) and the web server on a free port."""
    values: dict[str, Any] = {
        "messenger": {
            "page_access_token": PAGE_TOKEN,
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "api_base": graph.base_url,
        },
        "webhook": {"listen_host": "127.0.0.1", "listen_port": free_port()},
    }
    values.update(extra)
    return harness_settings(database_url, api, "polling", **values)


@dataclass
class MessengerHarness:
    """The bot with Messenger on: ``graph`` (the local Graph API), ``harness`` (Telegram)."""

    graph: LocalGraphAPI
    harness: BotHarness
    _runner: web.AppRunner | None = None
    _users: dict[str, MessengerUser] = field(default_factory=dict)

    @property
    def app(self) -> Application:
        assert self.harness.app is not None
        return self.harness.app

    @property
    def dispatcher(self) -> MessengerDispatcher:
        assert self.app.messenger is not None, "Messenger is off in these settings"
        return self.app.messenger.dispatcher

    @property
    def port(self) -> int:
        return self.harness.settings.webhook.listen_port

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.harness.settings.messenger.path}"

    async def start(self) -> None:
        await self.harness.start()
        self._runner = await start_web_server(self.app)
        await self.app.start_messenger()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.harness.stop()

    def user(self, psid: str = "5001") -> MessengerUser:
        if psid not in self._users:
            self._users[psid] = MessengerUser(self, psid)
        return self._users[psid]

    async def deliver(self, psid: str, **event: Any) -> tuple[int, str]:
        """Post one signed event for ``psid`` and wait until the bot has handled it."""
        event.setdefault("mid", f"m_test_{next(_mids)}")
        status, mid = await self.graph.deliver(self.webhook_url, psid, **event)
        await self.dispatcher.wait_idle(psid, timeout=30)
        return status, mid


@dataclass
class MessengerUser:
    """One Messenger resident (a PSID): sends, taps quick replies, reads the bot's messages."""

    messenger: MessengerHarness
    psid: str
    _seen: int = 0

    @property
    def messages(self) -> list[SentMessage]:
        """Everything the bot sent to this PSID."""
        return self.messenger.graph.messages_for(self.psid)

    @property
    def replies(self) -> list[SentMessage]:
        """What the bot sent since the last action."""
        return self.messages[self._seen :]

    @property
    def reply_texts(self) -> list[str]:
        return [m.text or "" for m in self.replies]

    @property
    def last_text(self) -> str:
        assert self.messages, f"the bot has sent nothing to {self.psid}"
        return self.messages[-1].text or ""

    def quick_reply_titles(self) -> list[str]:
        """The titles of the newest message with quick replies."""
        return [title for title, _payload in self._quick_replies()]

    def _quick_replies(self) -> list[tuple[str, str]]:
        for message in reversed(self.messages):
            if message.quick_replies:
                return list(message.quick_replies)
        return []

    async def _act(self, **event: Any) -> int:
        self._seen = len(self.messages)
        status, _mid = await self.messenger.deliver(self.psid, **event)
        return status

    async def send(self, text: str, **event: Any) -> int:
        return await self._act(text=text, **event)

    async def tap(self, title: str) -> int:
        """Tap the quick reply ``title`` of the newest message that has quick replies."""
        replies = self._quick_replies()
        payloads = [payload for t, payload in replies if t == title]
        assert payloads, f"{title!r} is not among the quick replies {[t for t, _ in replies]}"
        return await self._act(text=title, quick_reply=payloads[0])

    async def postback(self, payload: str, title: str = "", referral: str | None = None) -> int:
        """A button's or the persistent menu's postback (Get Started: ``get_started``;
        ``referral``: the ref of the m.me link or QR code the conversation started from)."""
        return await self._act(postback=payload, text=title or None, referral=referral)

    async def send_image(self, data: bytes, name: str = "photo.jpg") -> int:
        url = self.messenger.graph.image_url(f"{self.psid}-{next(_mids)}-{name}", data)
        return await self._act(attachments=[{"type": "image", "payload": {"url": url}}])

    async def send_location(self, lat: float, lon: float) -> int:
        return await self._act(
            attachments=[
                {"type": "location", "payload": {"coordinates": {"lat": lat, "long": lon}}}
            ]
        )

    async def onboard(
        self, municipality: str = "PAG", language: str = "lt", referral: str | None = None
    ) -> None:
        """Get Started (from an m.me link with ``referral``) → consent → the municipality (by
        code, paging with "Daugiau"/"More") → no age group: the real flow, in ``language``."""
        rows = {row.code: row for row in read_reference()}
        row = rows[municipality]
        name = row.short_en if language == "en" else row.short_lt
        more = "More" if language == "en" else "Daugiau"
        await self.postback("get_started", "Pradėti", referral=referral)
        if language != "lt":
            await self.tap("English")
        await self.tap("I agree" if language == "en" else "Sutinku")
        while name not in self.quick_reply_titles():
            await self.tap(more)
        await self.tap(name)
        await self.tap("I'd rather not say" if language == "en" else "Nenoriu nurodyti")


@pytest.fixture
async def messenger(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[MessengerHarness]:
    """The bot with Messenger on, both databases (through ``database_url``)."""
    graph = LocalGraphAPI(APP_SECRET, PAGE_TOKEN)
    await graph.start()
    settings = messenger_settings(database_url, local_api, graph)
    harness = MessengerHarness(graph, BotHarness(local_api, settings))
    try:
        await harness.start()
        yield harness
        await harness.stop()
    finally:
        await graph.close()
