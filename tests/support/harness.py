"""Driving the real bot as a resident would.

The real aiogram Dispatcher and HTTP session talk to the local Bot API server
(``bot.localapi``) over long polling or a webhook; tests send messages and press buttons
through :class:`Chat` and read what the bot sent back.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from bot.app import Application, create_application
from bot.channels.telegram.webhook import create_webhook_app
from bot.config import Settings
from bot.localapi.bot_runner import PollingBot, wait_handled
from bot.localapi.server import LocalBotAPI, StoredMessage

Mode = Literal["polling", "webhook"]
ADMIN_ID = 900_000_001
WEBHOOK_SECRET = "test-webhook-secret_42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotHarness:
    api: LocalBotAPI
    settings: Settings
    mode: Mode = "polling"
    app: Application | None = None
    _polling: PollingBot | None = None
    _runner: web.AppRunner | None = None
    webhook_port: int = 0
    _groups: set[int] = field(default_factory=set)

    async def start(self) -> None:
        self.app = await create_application(self.settings, self.api.token)
        self.app.start_background_work()
        if self.mode == "polling":
            self._polling = PollingBot(self.api, self.app)
            await self._polling.start()
        else:
            web_app = create_webhook_app(self.app.dispatcher, self.app.bot, self.settings.webhook)
            self._runner = web.AppRunner(web_app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.webhook_port)
            await site.start()
            await self._wait_for_webhook()

    async def _wait_for_webhook(self) -> None:
        await self.api.wait_for(lambda: self.api.webhook is not None, 10, description="setWebhook")

    async def stop(self) -> None:
        assert self.app is not None
        if self._polling is not None:
            await self._polling.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.app.close()

    async def restart(self) -> None:
        """Stop the bot and start a new one on the same database: what a restart keeps."""
        await self.stop()
        self.app = None
        self._polling = None
        self._runner = None
        await self.start()

    async def handled(self, update_id: int, times: int = 1) -> None:
        """Wait until the bot has received and finished handling the update."""
        assert self.app is not None
        await wait_handled(self.api, self.app.dispatcher, update_id, times)

    def chat(self, user_id: int = 1001, first_name: str = "Ona", **user: Any) -> Chat:
        self.api.add_user(user_id, first_name, **user)
        return Chat(self, user_id=user_id, chat_id=user_id)

    def group(
        self,
        chat_id: int,
        title: str,
        member_id: int,
        first_name: str = "Rasa",
        *,
        is_forum: bool = False,
    ) -> Chat:
        """``member_id`` in the group ``chat_id`` (created on first use; ``is_forum``: with
        topics)."""
        if chat_id not in self._groups:
            self.api.add_group(chat_id, title, is_forum=is_forum)
            self._groups.add(chat_id)
        self.api.add_user(member_id, first_name)
        return Chat(self, user_id=member_id, chat_id=chat_id)


@dataclass
class Chat:
    """One person in one chat: sends, presses, and reads what the bot answered."""

    harness: BotHarness
    user_id: int
    chat_id: int
    _seen: int = field(default=0)

    @property
    def api(self) -> LocalBotAPI:
        return self.harness.api

    def _private(self) -> dict[str, Any]:
        return {} if self.chat_id == self.user_id else {"chat_id": self.chat_id}

    async def _act(self, update_id: int) -> int:
        self._seen = len(self.api.bot_messages(self.chat_id))
        await self.harness.handled(update_id)
        return update_id

    async def send(self, text: str, **kwargs: Any) -> int:
        return await self._act(
            await self.api.send_text(self.user_id, text, **self._private(), **kwargs)
        )

    async def send_photo(self, caption: str | None = None) -> int:
        return await self._act(
            await self.api.send_photo(self.user_id, caption=caption, **self._private())
        )

    async def send_sticker(self) -> int:
        return await self._act(await self.api.send_sticker(self.user_id, **self._private()))

    async def send_voice(self) -> int:
        return await self._act(await self.api.send_voice(self.user_id, **self._private()))

    def message_with_button(self, label: str) -> StoredMessage:
        for message in reversed(self.api.bot_messages(self.chat_id)):
            if any(label in button.get("text", "") for button in message.inline_buttons()):
                return message
        raise AssertionError(f"no message in chat {self.chat_id} has a button {label!r}")

    async def click(self, label: str, message: StoredMessage | None = None) -> int:
        """Press the inline button whose text contains ``label`` (newest message first)."""
        target = message or self.message_with_button(label)
        data = target.button_data(label)
        return await self.press(target.message_id, data)

    async def press(self, message_id: int, callback_data: str) -> int:
        return await self._act(
            await self.api.press_button(self.user_id, message_id, callback_data, **self._private())
        )

    async def tap_menu(self, label: str) -> int:
        """Press a reply-keyboard button (it sends its text, as Telegram clients do)."""
        keyboard = self.api.reply_keyboard(self.chat_id) or []
        labels = [text for row in keyboard for text in row]
        assert label in labels, f"{label!r} is not on the keyboard {labels}"
        return await self.send(label)

    @property
    def messages(self) -> list[StoredMessage]:
        return self.api.bot_messages(self.chat_id)

    @property
    def replies(self) -> list[StoredMessage]:
        """Messages the bot sent in answer to the last action."""
        return self.messages[self._seen :]

    @property
    def reply_texts(self) -> list[str]:
        return [message.text for message in self.replies]

    @property
    def last(self) -> StoredMessage:
        assert self.messages, "the bot has sent nothing in this chat"
        return self.messages[-1]

    @property
    def last_text(self) -> str:
        return self.last.text

    def callback_answer(self) -> dict[str, Any] | None:
        """What the bot said on the button press (answerCallbackQuery), if anything."""
        return self.api.callback_answers[-1] if self.api.callback_answers else None


def harness_settings(database_url: str, api: LocalBotAPI, mode: Mode, **extra: Any) -> Settings:
    from tests.conftest import make_settings

    webhook: dict[str, Any] = {}
    port = 0
    if mode == "webhook":
        port = free_port()
        webhook = {
            "url": f"http://127.0.0.1:{port}",
            "secret": WEBHOOK_SECRET,
            "listen_host": "127.0.0.1",
            "listen_port": port,
        }
    values: dict[str, Any] = {
        # Tests act faster than people; flood control is tested on its own.
        "throttle_rate": 1000.0,
        "throttle_burst": 1000,
        "telegram": {"api_base": api.base_url, "admin_ids": [ADMIN_ID]},
        "webhook": webhook,
    }
    values.update(extra)
    return make_settings(database_url, **values)
