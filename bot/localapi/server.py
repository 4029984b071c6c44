"""In-process emulator of the Telegram Bot API HTTP server.

:class:`LocalBotAPI` serves the Bot API over HTTP on ``127.0.0.1`` so that aiogram's real
:class:`~aiogram.Bot` (through ``AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))``)
talks to it exactly as it would talk to Telegram. It models a small world of users, private
chats and supergroups; simulated users act through coroutine methods (:meth:`send_text`,
:meth:`press_button`, ...) that build real ``Update`` objects and deliver them by long polling or
webhook. Everything the bot does is recorded for inspection (:meth:`messages`, :attr:`calls`,
:attr:`callback_answers`, ...), and failures can be scripted (:meth:`fail_next`,
:meth:`block_chat`, :meth:`set_rate_limit`).

Validation follows Telegram's documented limits and reproduces its error replies
(``{"ok": false, "error_code": 400, "description": "Bad Request: ..."}``), so bugs that would
only show up in production (a 65-byte ``callback_data``, an unclosed ``<b>``, a 4097-character
message) fail in tests the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.localapi.errors import ApiError
from bot.localapi.limits import FaultInjector, RateLimiter
from bot.localapi.markup import MarkupKind, reply_keyboard_texts, validate_reply_markup
from bot.localapi.media import (
    guess_mime_type,
    image_mime_type,
    image_size,
    sample_png,
    sample_voice,
    sample_webp,
)
from bot.localapi.models import (
    ApiCall,
    MessageKind,
    Stats,
    StoredFile,
    StoredMessage,
    WebhookConfig,
)
from bot.localapi.params import Params, RawBody, Upload, read_request, read_webhook_reply
from bot.localapi.textformat import FormattedText, parse_formatted_text
from bot.localapi.updates import PendingUpdate, Signal, UpdateQueue

# The record types are re-exported so that ``from bot.localapi.server import StoredMessage`` works.
__all__ = [
    "SECRET_TOKEN_HEADER",
    "ApiCall",
    "ApiError",
    "LocalBotAPI",
    "Stats",
    "StoredFile",
    "StoredMessage",
    "WebhookConfig",
]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_Handler = Callable[[Params], Awaitable[Any]]
_MethodKind = Literal["send", "action", "edit", "delete", "other"]

#: Header carrying the webhook secret on every webhook POST.
SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION = 256
MAX_GET_UPDATES_LIMIT = 100

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{1,64})?")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
    "can_pin_messages",
    "can_manage_topics",
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_GET_UPDATES_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)
_GET_UPDATES_TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
_CALLBACK_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class _Method:
    name: str
    handler: _Handler
    kind: _MethodKind


@dataclass
class _Chat:
    api: JSONDict
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JSONDict | None = None
    owner_id: int | None = None
    admin_ids: set[int] = field(default_factory=set)
    # forum topics by message_thread_id (the id of the topic's "created" service message)
    topics: dict[int, JSONDict] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.api["id"])

    @property
    def is_private(self) -> bool:
        return bool(self.api["type"] == "private")

    @property
    def is_forum(self) -> bool:
        return bool(self.api.get("is_forum"))

    def check_thread(self, thread_id: int | None) -> None:
        """In a forum, a message may go only to a topic that exists."""
        if thread_id is not None and self.is_forum and thread_id not in self.topics:
            raise ApiError.bad_request("message thread not found")

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _CallbackQuery:
    user_id: int
    chat_id: int
    message_id: int
    answered: bool = False


@dataclass
class _LongPoll:
    terminated: bool = False


class LocalBotAPI:
    """A Telegram Bot API server emulator running inside the current event loop.

    Typical use::

        api = LocalBotAPI()
        await api.start()
        bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        api.add_user(1001, "Ona")
        update_id = await api.send_text(1001, "/start")
        ...
        await api.stop()

    Public state for inspection:

    * :attr:`calls` - every request received, as :class:`ApiCall` (method, decoded params,
      HTTP status, error description, result).
    * :attr:`callback_answers` - parameters of each successful ``answerCallbackQuery``
      (``callback_query_id``, ``text``, ``show_alert``, ``url``, ``cache_time``).
    * :attr:`commands` - the current ``setMyCommands`` lists:
      ``commands[scope_key][language_code] -> [{"command": ..., "description": ...}]`` where
      ``scope_key`` is ``"default"``, ``"all_private_chats"``, ``"all_group_chats"``,
      ``"all_chat_administrators"``, ``"chat:<chat_id>"``, ``"chat_administrators:<chat_id>"``
      or ``"chat_member:<chat_id>:<user_id>"``, and ``language_code`` is ``""`` when none was
      given.
    * :attr:`menu_buttons` - ``setChatMenuButton`` values by chat id (``None`` = the default).
    * :attr:`chat_actions` - ``(chat_id, action)`` pairs from ``sendChatAction``.
    * :attr:`webhook_attempts` - ``(update_id, http_status)`` per webhook POST (0 = connection
      error or timeout).
    * :attr:`stats` - counters (:class:`Stats`).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 - the emulator's well-known test token
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "dalyvauk_test_bot",
        bot_first_name: str = "Dalyvauk",
        webhook_max_attempts: int = 5,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 10.0,
    ) -> None:
        """Create an emulator (not yet listening; call :meth:`start`).

        :param token: the bot token clients must use; ``bot_id`` is its numeric prefix.
        :param host: interface to listen on.
        :param port: TCP port; 0 picks a free one (see :attr:`base_url` after start).
        :param webhook_max_attempts: POST attempts per update before it is dropped.
        :param webhook_retry_delay: delay before the first retry; doubles on each further one.
        :param webhook_timeout: seconds to wait for a webhook response.
        """
        bot_id, separator, _ = token.partition(":")
        if not separator or not bot_id.isdigit():
            raise ValueError(f"token must look like '<bot_id>:<secret>', got {token!r}")
        if webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self._host = host
        self._port = port

        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._client: ClientSession | None = None
        self._running = False

        self._signal = Signal()
        self._updates = UpdateQueue(self._signal)
        self._long_poll: _LongPoll | None = None

        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, _Chat] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = 0
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._callback_seq = 0

        self._webhook: WebhookConfig | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_error: tuple[int, str] | None = None

        self._faults = FaultInjector()
        self._blocked: set[int] = set()
        self._rate_limiter: RateLimiter | None = None

        self.calls: list[ApiCall] = []
        self.callback_answers: list[JSONDict] = []
        self.commands: dict[str, dict[str, list[dict[str, str]]]] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.profile: dict[str, dict[str, str]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook_attempts: list[tuple[int, int]] = []
        self.stats = Stats()

        self._methods: dict[str, _Method] = {}
        self._register_methods()

    # ------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (for ``TelegramAPIServer.from_base``)."""
        if self._bound_port is None:
            raise RuntimeError("LocalBotAPI is not running; call start() first")
        return f"http://{self._host}:{self._bound_port}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._bound_port is None:
            raise RuntimeError("LocalBotAPI is not running; call start() first")
        return self._bound_port

    async def start(self) -> None:
        """Start listening. Idempotent while running."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        addresses = runner.addresses
        self._bound_port = int(addresses[0][1]) if addresses else self._port
        self._runner = runner
        self._client = ClientSession()
        self._running = True
        if self._webhook is not None:
            self._ensure_webhook_worker()
        log.debug("local Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop the server, wake pending long polls and stop webhook delivery. Idempotent."""
        self._running = False
        self._signal.notify()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._bound_port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------------------------------
    # the world: users and chats
    # ------------------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        first_name: str = "Ona",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "lt",
    ) -> JSONDict:
        """Create (or replace) a user and their private chat with the bot; returns the User."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = value
                chat[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        existing = self._chats.get(user_id)
        if existing is None:
            self._chats[user_id] = _Chat(api=chat)
        else:
            existing.api = chat
        return dict(user)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        is_forum: bool = False,
        username: str | None = None,
        owner_id: int | None = None,
        admin_ids: Iterable[int] = (),
    ) -> JSONDict:
        """Create a supergroup (``chat_id`` must be negative); returns the Chat object.

        ``owner_id`` and ``admin_ids`` decide what ``getChatMember`` and
        ``getChatAdministrators`` report; everybody else is a plain member.
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative (e.g. -1001234567890)")
        chat: JSONDict = {"id": chat_id, "type": "supergroup", "title": title}
        if username is not None:
            chat["username"] = username
        if is_forum:
            chat["is_forum"] = True
        self._chats[chat_id] = _Chat(api=chat, owner_id=owner_id, admin_ids=set(admin_ids))
        return dict(chat)

    # ------------------------------------------------------------------------------------------
    # user actions
    # ------------------------------------------------------------------------------------------
    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> int:
        """The user sends ``text``; returns the update_id. ``message_thread_id``: a forum
        topic of the group (see :meth:`forum_topics`).

        Text starting with ``/`` gets a ``bot_command`` entity for the command word.
        """
        if not text:
            raise ValueError("text must be non-empty")
        chat = self._user_chat(user_id, chat_id)
        entities: list[JSONDict] = []
        command = _BOT_COMMAND_RE.match(text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": command.end()})
        message = self._store_user_message(
            chat,
            user_id,
            "text",
            text=text,
            entities=entities,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )
        return self._push_message(message)

    async def send_photo(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        content: bytes | None = None,
    ) -> int:
        """The user sends a photo (a generated PNG unless ``content`` is given)."""
        chat = self._user_chat(user_id, chat_id)
        data = content if content is not None else sample_png()
        stored = self._store_file(data, "photos", ".jpg", mime_type=image_mime_type(data))
        message = self._store_user_message(
            chat,
            user_id,
            "photo",
            text=caption or "",
            media={"photo": self._photo_sizes(stored)},
            photo_bytes=data,
            file_id=stored.file_id,
        )
        return self._push_message(message)

    async def send_sticker(
        self, user_id: int, *, chat_id: int | None = None, emoji: str = "👍"
    ) -> int:
        """The user sends a (static, 512x512) sticker."""
        chat = self._user_chat(user_id, chat_id)
        stored = self._store_file(sample_webp(), "stickers", ".webp", mime_type="image/webp")
        sticker = {
            **self._file_api(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        message = self._store_user_message(
            chat, user_id, "sticker", media={"sticker": sticker}, file_id=stored.file_id
        )
        return self._push_message(message)

    async def send_voice(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        duration: int = 3,
        content: bytes | None = None,
    ) -> int:
        """The user sends a voice note (stand-in OGG bytes unless ``content`` is given)."""
        chat = self._user_chat(user_id, chat_id)
        data = content if content is not None else sample_voice()
        stored = self._store_file(data, "voice", ".oga", mime_type="audio/ogg")
        voice = {**self._file_api(stored), "duration": duration, "mime_type": "audio/ogg"}
        message = self._store_user_message(
            chat, user_id, "voice", media={"voice": voice}, file_id=stored.file_id
        )
        return self._push_message(message)

    async def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> int:
        """The user sends a file as a document."""
        chat = self._user_chat(user_id, chat_id)
        mime = mime_type or guess_mime_type(filename)
        suffix = PurePosixPath(filename).suffix
        stored = self._store_file(content, "documents", suffix, filename=filename, mime_type=mime)
        document = {**self._file_api(stored), "file_name": filename, "mime_type": mime}
        message = self._store_user_message(
            chat,
            user_id,
            "document",
            text=caption or "",
            media={"document": document},
            document_name=filename,
            document_bytes=content,
            document_mime_type=mime,
            file_id=stored.file_id,
        )
        return self._push_message(message)

    async def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        chat_id: int | None = None,
    ) -> int:
        """The user shares a location."""
        chat = self._user_chat(user_id, chat_id)
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        message = self._store_user_message(chat, user_id, "location", media={"location": location})
        return self._push_message(message)

    async def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
    ) -> int:
        """The user presses an inline button: a ``callback_query`` update with ``data``.

        The data is not checked against the message's keyboard, so stale or forged presses can
        be simulated; use :meth:`click_button` to press a button by its label.
        """
        chat = self._user_chat(user_id, chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise LookupError(f"no message {message_id} in chat {chat.id}")
        self._callback_seq += 1
        query_id = str(4_000_000_000_000_000_000 + self._callback_seq)
        self._callback_queries[query_id] = _CallbackQuery(user_id, chat.id, message_id)
        query: JSONDict = {
            "id": query_id,
            "from": self._users[user_id],
            "message": self._message_api(message),
            "chat_instance": str(-(1_000_000_000_000_000 + abs(chat.id))),
            "data": callback_data,
        }
        return self._push({"callback_query": query})

    async def click_button(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> int:
        """Press the inline button labelled ``text`` (see :meth:`StoredMessage.button_data`)."""
        chat = self._user_chat(user_id, chat_id)
        data = self.message(chat.id, message_id).button_data(text)
        return await self.press_button(user_id, message_id, data, chat_id=chat_id)

    async def block_bot(self, user_id: int) -> int:
        """The user blocks the bot: Telegram sends ``my_chat_member`` (kicked) and every later
        send to the private chat gets 403."""
        self.block_chat(user_id)
        return self._push_member_change(
            user_id, old={"status": "member"}, new={"status": "kicked", "until_date": 0}
        )

    async def unblock_bot(self, user_id: int) -> int:
        """The user unblocks the bot (presses Restart): ``my_chat_member`` (member)."""
        self.unblock_chat(user_id)
        return self._push_member_change(
            user_id, old={"status": "kicked", "until_date": 0}, new={"status": "member"}
        )

    def _push_member_change(self, user_id: int, *, old: JSONDict, new: JSONDict) -> int:
        chat = self._user_chat(user_id, None)
        bot = self._bot_user()
        return self._push(
            {
                "my_chat_member": {
                    "chat": dict(chat.api),
                    "from": self._users[user_id],
                    "date": _now(),
                    "old_chat_member": {**old, "user": bot},
                    "new_chat_member": {**new, "user": bot},
                }
            }
        )

    async def deliver_raw(self, update: JSONDict) -> int:
        """Deliver an arbitrary update dict as-is (an ``update_id`` is added if missing).

        Re-delivering an already confirmed ``update_id`` is supported: a polling bot receives it
        once more, like after a crash before confirming.
        """
        payload = dict(update)
        if "update_id" not in payload:
            payload = {"update_id": self._updates.allocate_id(), **payload}
        self.stats.updates_created += 1
        return self._updates.push(payload)

    def next_update_id(self) -> int:
        """The update_id the next simulated user action will get."""
        return self._updates.next_update_id()

    # ------------------------------------------------------------------------------------------
    # delivery helpers
    # ------------------------------------------------------------------------------------------
    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (polling) or acknowledged by its webhook."""
        return [entry.update for entry in self._updates.pending]

    @property
    def allowed_updates(self) -> list[str] | None:
        """The bot's current ``allowed_updates`` setting (``None`` = Telegram's default)."""
        return self._updates.allowed_updates

    async def wait_until_delivered(
        self,
        update_id: int,
        timeout: float = 5.0,
    ) -> None:
        """Wait until the bot has received ``update_id``.

        Polling: a ``getUpdates`` arrived with ``offset > update_id``. Webhook: a POST of the update
        got a 2xx reply. Raises :class:`TimeoutError` after ``timeout`` seconds, or at once if the
        update can never be delivered (filtered by ``allowed_updates``, dropped with
        ``drop_pending_updates``, or its webhook attempts were exhausted).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            state, reason = self._updates.state(update_id)
            if state == "delivered":
                return
            if state == "dropped":
                raise TimeoutError(f"update {update_id} will never be delivered: {reason}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"update {update_id} was not delivered within {timeout:g}s "
                    f"({self._delivery_hint(update_id, state)})"
                )
            await self._signal.wait(remaining)

    def _delivery_hint(self, update_id: int, state: str) -> str:
        if state == "unknown":
            return "no such update was created"
        if self._webhook is not None:
            attempts = [status for uid, status in self.webhook_attempts if uid == update_id]
            return f"webhook mode, POST attempts so far: {attempts or 'none'}"
        return (
            f"polling mode: no getUpdates call confirmed it with offset > {update_id}; "
            "is the bot polling?"
        )

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        *,
        description: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` is true; it is re-checked after every API call/update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{description} not met within {timeout:g}s")
            await self._signal.wait(min(remaining, 0.1))

    @property
    def version(self) -> int:
        """A counter that grows with every change of the emulator's state."""
        return self._signal.version

    async def wait_changed(self, since: int, timeout: float = 25.0) -> int:
        """Wait until :attr:`version` is past ``since`` (or ``timeout``); return the version."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._signal.version <= since:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._signal.wait(remaining)
        return self._signal.version

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after_message_id: int = 0,
        timeout: float = 5.0,
    ) -> StoredMessage:
        """Wait for the first bot message in ``chat_id`` with an id above ``after_message_id``."""

        def found() -> StoredMessage | None:
            for message in self.bot_messages(chat_id):
                if message.message_id > after_message_id:
                    return message
            return None

        await self.wait_for(
            lambda: found() is not None,
            timeout,
            description=f"a bot message in chat {chat_id} after message {after_message_id}",
        )
        result = found()
        assert result is not None
        return result

    async def post_webhook_raw(self, update: JSONDict, *, secret: str | None) -> int:
        """POST ``update`` once to the webhook URL with ``secret`` (or no header); returns status.

        No retries; the attempt is not recorded in :attr:`webhook_attempts`. Connection errors
        return 0.
        """
        if self._webhook is None:
            raise RuntimeError("no webhook is set")
        status, _ = await self._post_update(self._webhook.url, update, secret)
        return status

    # ------------------------------------------------------------------------------------------
    # inspection
    # ------------------------------------------------------------------------------------------
    @property
    def webhook(self) -> WebhookConfig | None:
        """The current webhook, or ``None`` in polling mode."""
        return self._webhook

    def messages(self, chat_id: int, *, include_deleted: bool = True) -> list[StoredMessage]:
        """All messages (bot and user) in ``chat_id`` in order, edits applied."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int, *, include_deleted: bool = True) -> list[StoredMessage]:
        """Messages the bot sent to ``chat_id``, in order."""
        return [m for m in self.messages(chat_id, include_deleted=include_deleted) if m.from_bot]

    def last_bot_message(self, chat_id: int) -> StoredMessage:
        """The most recent non-deleted bot message in ``chat_id``."""
        sent = self.bot_messages(chat_id, include_deleted=False)
        if not sent:
            raise LookupError(f"the bot has sent no (undeleted) message to chat {chat_id}")
        return sent[-1]

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        """One stored message."""
        chat = self._chats.get(chat_id)
        if chat is None or message_id not in chat.messages:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        return chat.messages[message_id]

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        """Labels of the last reply keyboard sent to ``chat_id`` (``None`` once removed)."""
        markup = self.reply_keyboard_markup(chat_id)
        return reply_keyboard_texts(markup) if markup is not None else None

    def reply_keyboard_markup(self, chat_id: int) -> JSONDict | None:
        """The full last ``ReplyKeyboardMarkup`` sent to ``chat_id``, or ``None``."""
        chat = self._chats.get(chat_id)
        return chat.reply_keyboard if chat is not None else None

    def file(self, file_id: str) -> StoredFile:
        """A stored file by ``file_id``."""
        if file_id not in self._files:
            raise LookupError(f"unknown file_id {file_id!r}")
        return self._files[file_id]

    def calls_for(self, method: str) -> list[ApiCall]:
        """Recorded calls of ``method`` (case-insensitive)."""
        lowered = method.lower()
        return [call for call in self.calls if call.method.lower() == lowered]

    # ------------------------------------------------------------------------------------------
    # fault injection and limits
    # ------------------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (optionally only for ``chat_id``).

        Default descriptions are Telegram's: 429 ``Too Many Requests: retry after N`` (with
        ``parameters.retry_after``, N defaulting to 1), 500 ``Internal Server Error``, 502
        ``Bad Gateway``, 403 ``Forbidden: bot was blocked by the user``. A failed call has no
        effect.
        """
        self._faults.add(
            method,
            error_code,
            description,
            retry_after=retry_after,
            times=times,
            chat_id=chat_id,
        )

    def block_chat(self, chat_id: int) -> None:
        """The user blocks the bot (or the group kicks it): every send to the chat gets 403."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        self._blocked.discard(chat_id)

    def set_rate_limit(
        self,
        per_second: float | None,
        per_chat_per_second: float | None = 1.0,
        per_group_per_minute: int | None = 20,
    ) -> None:
        """Enable Telegram-like flood limits for message-creating calls (``None`` disables all).

        With ``per_second`` set, a send exceeding any of: ``per_second`` messages in any
        1-second window overall, ``per_chat_per_second`` in one chat, ``per_group_per_minute``
        in one group per 60 s (each ``None`` = unlimited) is rejected with 429 and
        ``retry_after`` and is not performed. Fractional rates widen the window (0.5/s = one per
        2 s).
        """
        if per_second is None:
            self._rate_limiter = None
            return
        self._rate_limiter = RateLimiter(per_second, per_chat_per_second, per_group_per_minute)

    # ------------------------------------------------------------------------------------------
    # HTTP layer
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        return web.json_response(error.to_payload(), status=error.error_code)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.stats.requests += 1
            self.calls.append(ApiCall(method, {}, status=401, error="Unauthorized"))
            return self._error_response(ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized"))
        try:
            params = Params.from_raw(await read_request(request))
        except ApiError as error:
            self.stats.requests += 1
            self.calls.append(ApiCall(method, {}, status=error.error_code, error=error.description))
            return self._error_response(error)
        payload, status = await self._call(method, params)
        return web.json_response(payload, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error_response(ApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized"))
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._error_response(ApiError(HTTPStatus.NOT_FOUND, "Not Found"))
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return self._error_response(ApiError(HTTPStatus.NOT_FOUND, "Not Found"))

    async def _call(
        self,
        method_name: str,
        params: Params,
        *,
        source: Literal["http", "webhook_reply"] = "http",
    ) -> tuple[JSONDict, int]:
        """Run one Bot API method and return ``(response_body, http_status)``."""
        method = self._methods.get(method_name.lower())
        call = ApiCall(
            method=method.name if method else method_name,
            params=params.public(),
            status=0,
            source=source,
        )
        self.calls.append(call)
        self.stats.requests += 1
        try:
            if method is None:
                raise ApiError(HTTPStatus.NOT_FOUND, "Not Found: method not found")
            fault = self._faults.take(method.name, params.get_chat_id())
            if fault is not None:
                self.stats.injected_failures += 1
                raise fault
            chat_id: int | None = None
            if method.kind in ("send", "action"):
                chat_id = self._require_chat(params).id
                if chat_id in self._blocked:
                    raise ApiError.forbidden(
                        "bot was blocked by the user"
                        if chat_id > 0
                        else "bot was kicked from the supergroup chat"
                    )
                if method.kind == "send" and self._rate_limiter is not None:
                    self._rate_limiter.check(chat_id)
            result = await method.handler(params)
        except ApiError as error:
            call.status = error.error_code
            call.error = error.description
            self._count_error(error)
            self._signal.notify()
            return error.to_payload(), error.error_code
        call.status = 200
        call.result = result
        if method.kind == "send" and chat_id is not None:
            self.stats.sent_ok += 1
            if self._rate_limiter is not None:
                self._rate_limiter.record(chat_id)
        elif method.kind == "edit":
            self.stats.edited_ok += 1
        elif method.kind == "delete":
            self.stats.deleted_ok += 1
        self._signal.notify()
        return {"ok": True, "result": result}, 200

    def _count_error(self, error: ApiError) -> None:
        if error.error_code == HTTPStatus.TOO_MANY_REQUESTS:
            self.stats.rejected_429 += 1
        elif error.error_code == HTTPStatus.FORBIDDEN:
            self.stats.rejected_403 += 1
        elif error.error_code == HTTPStatus.BAD_REQUEST:
            self.stats.bad_requests += 1

    def _register_methods(self) -> None:
        table: list[tuple[str, _Handler, _MethodKind]] = [
            ("getMe", self._api_get_me, "other"),
            ("logOut", self._api_true, "other"),
            ("close", self._api_true, "other"),
            ("getUpdates", self._api_get_updates, "other"),
            ("setWebhook", self._api_set_webhook, "other"),
            ("deleteWebhook", self._api_delete_webhook, "other"),
            ("getWebhookInfo", self._api_get_webhook_info, "other"),
            ("sendMessage", self._api_send_message, "send"),
            ("sendPhoto", self._api_send_photo, "send"),
            ("sendDocument", self._api_send_document, "send"),
            ("sendSticker", self._api_send_sticker, "send"),
            ("sendVoice", self._api_send_voice, "send"),
            ("sendLocation", self._api_send_location, "send"),
            ("sendChatAction", self._api_send_chat_action, "action"),
            ("editMessageText", self._api_edit_message_text, "edit"),
            ("editMessageCaption", self._api_edit_message_caption, "edit"),
            ("editMessageReplyMarkup", self._api_edit_message_reply_markup, "edit"),
            ("deleteMessage", self._api_delete_message, "delete"),
            ("deleteMessages", self._api_delete_messages, "delete"),
            ("answerCallbackQuery", self._api_answer_callback_query, "other"),
            ("getFile", self._api_get_file, "other"),
            ("setMyCommands", self._api_set_my_commands, "other"),
            ("deleteMyCommands", self._api_delete_my_commands, "other"),
            ("getMyCommands", self._api_get_my_commands, "other"),
            ("setChatMenuButton", self._api_set_chat_menu_button, "other"),
            ("getChatMenuButton", self._api_get_chat_menu_button, "other"),
            ("setMyName", self._profile_setter("name", 64), "other"),
            ("getMyName", self._profile_getter("name"), "other"),
            ("setMyDescription", self._profile_setter("description", 512), "other"),
            ("getMyDescription", self._profile_getter("description"), "other"),
            ("setMyShortDescription", self._profile_setter("short_description", 120), "other"),
            ("getMyShortDescription", self._profile_getter("short_description"), "other"),
            ("createForumTopic", self._api_create_forum_topic, "other"),
            ("getChat", self._api_get_chat, "other"),
            ("getChatMember", self._api_get_chat_member, "other"),
            ("getChatAdministrators", self._api_get_chat_administrators, "other"),
        ]
        self._methods = {
            name.lower(): _Method(name, handler, kind) for name, handler, kind in table
        }

    # ------------------------------------------------------------------------------------------
    # world helpers
    # ------------------------------------------------------------------------------------------
    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user_chat(self, user_id: int, chat_id: int | None) -> _Chat:
        if user_id not in self._users:
            raise LookupError(f"unknown user {user_id}: call add_user() first")
        target = user_id if chat_id is None else chat_id
        chat = self._chats.get(target)
        if chat is None:
            raise LookupError(f"unknown chat {target}: call add_group() first")
        if chat.is_private and target != user_id:
            raise ValueError(f"user {user_id} cannot write in the private chat of user {target}")
        return chat

    def _require_chat(self, params: Params, name: str = "chat_id") -> _Chat:
        chat_id = params.get_chat_id(name)
        if chat_id is None or chat_id == "":
            raise ApiError.bad_request(f"{name} is empty")
        if isinstance(chat_id, str):
            username = chat_id.removeprefix("@").lower()
            for candidate in self._chats.values():
                public = str(candidate.api.get("username", "")).lower()
                if not candidate.is_private and public == username:
                    return candidate
            raise ApiError.bad_request("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError.bad_request("chat not found")
        return chat

    def _message_api(self, message: StoredMessage, *, with_reply: bool = True) -> JSONDict:
        chat = self._chats[message.chat_id]
        sender = self._bot_user() if message.from_bot else self._users[message.from_user_id]
        result: JSONDict = {
            "message_id": message.message_id,
            "from": dict(sender),
            "chat": dict(chat.api),
            "date": message.date,
        }
        reply_to = message.reply_to_message_id
        if message.message_thread_id is not None:
            result["message_thread_id"] = message.message_thread_id
            if chat.is_forum:
                # In a forum topic, a message that replies to nothing replies to the topic's
                # "created" service message, as Telegram sends it.
                result["is_topic_message"] = True
                if reply_to is None and message.message_thread_id != message.message_id:
                    reply_to = message.message_thread_id
        if with_reply and reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is not None and not target.deleted:
                result["reply_to_message"] = self._message_api(target, with_reply=False)
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.kind == "text":
            result["text"] = message.text
            if message.entities:
                result["entities"] = [dict(e) for e in message.entities]
        else:
            result.update(message.media)
            if message.text:
                result["caption"] = message.text
                if message.entities:
                    result["caption_entities"] = [dict(e) for e in message.entities]
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result

    def _store_user_message(
        self,
        chat: _Chat,
        user_id: int,
        kind: MessageKind,
        *,
        text: str = "",
        entities: list[JSONDict] | None = None,
        reply_to_message_id: int | None = None,
        media: JSONDict | None = None,
        **extra: Any,
    ) -> StoredMessage:
        if reply_to_message_id is not None and reply_to_message_id not in chat.messages:
            raise LookupError(f"no message {reply_to_message_id} in chat {chat.id} to reply to")
        thread_id = extra.get("message_thread_id")
        if thread_id is not None and thread_id not in chat.topics:
            raise LookupError(f"no forum topic {thread_id} in chat {chat.id}")
        message = StoredMessage(
            message_id=chat.allocate_message_id(),
            chat_id=chat.id,
            from_bot=False,
            date=_now(),
            kind=kind,
            from_user_id=user_id,
            text=text,
            html=text or None,
            entities=entities or [],
            reply_to_message_id=reply_to_message_id,
            media=media or {},
            **extra,
        )
        chat.messages[message.message_id] = message
        return message

    def _push(self, payload: JSONDict) -> int:
        update = {"update_id": self._updates.allocate_id(), **payload}
        self.stats.updates_created += 1
        return self._updates.push(update)

    def _push_message(self, message: StoredMessage) -> int:
        return self._push({"message": self._message_api(message)})

    # ------------------------------------------------------------------------------------------
    # files
    # ------------------------------------------------------------------------------------------
    def _store_file(
        self,
        content: bytes,
        folder: str,
        suffix: str,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        self._file_seq += 1
        seq = self._file_seq
        stored = StoredFile(
            file_id=f"{folder[:2].upper()}AC{self.bot_id:x}{seq:06d}",
            file_unique_id=f"AQAD{seq:06d}",
            file_path=f"{folder}/file_{seq}{suffix}",
            content=content,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _file_api(stored: StoredFile) -> JSONDict:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }

    def _photo_sizes(self, stored: StoredFile) -> list[JSONDict]:
        width, height = image_size(stored.content)
        return [{**self._file_api(stored), "width": width, "height": height}]

    def _input_file(self, params: Params, name: str) -> Upload | StoredFile | str:
        """Validate a file parameter: an upload, a known file_id or an HTTP(S) URL."""
        value = params.get_file(name)
        if value is None or value == "":
            raise ApiError.bad_request(f"there is no {name} in the request")
        if isinstance(value, Upload):
            if not value.content:
                raise ApiError.bad_request("file must be non-empty")
            if len(value.content) > MAX_UPLOAD_BYTES:
                raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large")
            return value
        if value in self._files:
            return self._files[value]
        if value.startswith(("http://", "https://")):
            return value
        raise ApiError.bad_request("wrong file identifier/HTTP URL specified")

    def _commit_file(
        self,
        source: Upload | StoredFile | str,
        folder: str,
        default_suffix: str,
        default_mime: str | None = None,
    ) -> StoredFile:
        if isinstance(source, StoredFile):
            return source
        if isinstance(source, Upload):
            suffix = PurePosixPath(source.filename).suffix or default_suffix
            mime = default_mime or guess_mime_type(source.filename, source.content_type)
            return self._store_file(
                source.content, folder, suffix, filename=source.filename, mime_type=mime
            )
        name = PurePosixPath(urlsplit(source).path).name or None
        return self._store_file(b"", folder, default_suffix, filename=name, mime_type=default_mime)

    # ------------------------------------------------------------------------------------------
    # validation helpers for bot messages
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _message_text(params: Params) -> tuple[str, FormattedText]:
        raw = params.get_str("text") or ""
        if not raw.strip():
            raise ApiError.bad_request("message text is empty")
        formatted = parse_formatted_text(
            raw, params.get_str("parse_mode"), params.get_array("entities")
        )
        if not formatted.text.strip():
            raise ApiError.bad_request("message text is empty")
        if len(formatted.text) > MAX_MESSAGE_LENGTH:
            raise ApiError.bad_request("message is too long")
        return raw, formatted

    @staticmethod
    def _caption(params: Params) -> tuple[str | None, FormattedText]:
        raw = params.get_str("caption")
        if not raw:
            return None, FormattedText("")
        formatted = parse_formatted_text(
            raw, params.get_str("parse_mode"), params.get_array("caption_entities")
        )
        if len(formatted.text) > MAX_CAPTION_LENGTH:
            raise ApiError.bad_request("message caption is too long")
        return raw, formatted

    @staticmethod
    def _reply_markup(params: Params) -> tuple[JSONDict | None, MarkupKind | None]:
        markup = params.get_object("reply_markup")
        if markup is None:
            return None, None
        return markup, validate_reply_markup(markup)

    @classmethod
    def _inline_markup(cls, params: Params) -> JSONDict | None:
        markup, kind = cls._reply_markup(params)
        if markup is not None and kind != "inline":
            raise ApiError.bad_request("inline keyboard expected")
        return markup

    @staticmethod
    def _reply_target(chat: _Chat, params: Params) -> int | None:
        reply = params.get_object("reply_parameters") or {}
        target = reply.get("message_id", params.get_int("reply_to_message_id"))
        if target is None:
            return None
        if not isinstance(target, int):
            raise ApiError.bad_request("invalid reply_parameters specified")
        allow_missing = bool(reply.get("allow_sending_without_reply")) or params.get_bool(
            "allow_sending_without_reply"
        )
        existing = chat.messages.get(target)
        if existing is None or existing.deleted:
            if allow_missing:
                return None
            raise ApiError.bad_request("message to be replied not found")
        return target

    def _store_bot_message(
        self,
        chat: _Chat,
        params: Params,
        kind: MessageKind,
        *,
        raw_text: str | None,
        formatted: FormattedText,
        markup: JSONDict | None,
        markup_kind: MarkupKind | None,
        reply_to: int | None,
        media: JSONDict | None = None,
        **extra: Any,
    ) -> JSONDict:
        """Store a validated bot message and return its Bot API ``Message`` object."""
        chat.check_thread(params.get_int("message_thread_id"))
        message = StoredMessage(
            message_id=chat.allocate_message_id(),
            chat_id=chat.id,
            from_bot=True,
            date=_now(),
            kind=kind,
            from_user_id=self.bot_id,
            text=formatted.text,
            html=raw_text,
            parse_mode=params.get_str("parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            message_thread_id=params.get_int("message_thread_id"),
            media=media or {},
            **extra,
        )
        if markup_kind == "reply":
            chat.reply_keyboard = markup
        elif markup_kind == "remove":
            chat.reply_keyboard = None
        chat.messages[message.message_id] = message
        return self._message_api(message)

    def _editable_message(self, params: Params, *, action: str = "edit") -> StoredMessage:
        if params.get_str("inline_message_id"):
            raise ApiError.bad_request("inline messages are not supported by the local Bot API")
        chat = self._require_chat(params)
        message_id = params.get_int("message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError.bad_request(f"message to {action} not found")
        if not message.from_bot:
            raise ApiError.bad_request("message can't be edited")
        return message

    @staticmethod
    def _current_inline(message: StoredMessage) -> JSONDict | None:
        markup = message.reply_markup
        return markup if markup is not None and "inline_keyboard" in markup else None

    def _apply_edit(self, message: StoredMessage) -> JSONDict:
        message.edited = True
        message.edit_date = _now()
        return self._message_api(message)

    # ------------------------------------------------------------------------------------------
    # Bot API methods: bot, updates, webhook
    # ------------------------------------------------------------------------------------------
    async def _api_true(self, params: Params) -> bool:
        return True

    async def _api_get_me(self, params: Params) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_get_updates(self, params: Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(HTTPStatus.CONFLICT, _GET_UPDATES_WEBHOOK_CONFLICT)
        offset = params.get_int("offset")
        limit = params.get_int("limit")
        if limit is None or not 1 <= limit <= MAX_GET_UPDATES_LIMIT:
            limit = MAX_GET_UPDATES_LIMIT
        timeout = max(0, params.get_int("timeout") or 0)
        allowed = params.get_array("allowed_updates")
        if allowed is not None:
            self._updates.set_allowed_updates(str(kind) for kind in allowed)
        if self._long_poll is not None:
            self._long_poll.terminated = True
        poll = _LongPoll()
        self._long_poll = poll
        try:
            if offset is not None:
                self._updates.confirm(offset)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                if poll.terminated:
                    raise ApiError(HTTPStatus.CONFLICT, _GET_UPDATES_TERMINATED)
                if self._updates.pending or self._webhook_is_set() or not self._running:
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await self._signal.wait(remaining)
            if self._webhook_is_set():
                return []
            return self._updates.take(limit)
        finally:
            if self._long_poll is poll:
                self._long_poll = None

    def _webhook_is_set(self) -> bool:
        # a method (not an inline check) so that mypy does not narrow across awaits
        return self._webhook is not None

    async def _api_set_webhook(self, params: Params) -> bool:
        url = (params.get_str("url") or "").strip()
        if not url:
            return await self._api_delete_webhook(params)
        if not url.lower().startswith(("http://", "https://")):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get_str("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise ApiError.bad_request("secret token contains unallowed characters")
        max_connections = params.get_int("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise ApiError.bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = params.get_array("allowed_updates")
        if allowed is not None:
            self._updates.set_allowed_updates(str(kind) for kind in allowed)
        if params.get_bool("drop_pending_updates"):
            self._updates.drop_all("dropped by setWebhook(drop_pending_updates=True)")
        self._webhook = WebhookConfig(
            url=url,
            secret_token=secret,
            allowed_updates=self._updates.allowed_updates,
            max_connections=max_connections,
            ip_address=params.get_str("ip_address"),
        )
        self._webhook_error = None
        if self._long_poll is not None:
            self._long_poll.terminated = True
        self._signal.notify()
        self._ensure_webhook_worker()
        return True

    async def _api_delete_webhook(self, params: Params) -> bool:
        if params.get_bool("drop_pending_updates"):
            self._updates.drop_all("dropped by deleteWebhook(drop_pending_updates=True)")
        self._webhook = None
        self._webhook_error = None
        self._signal.notify()
        return True

    async def _api_get_webhook_info(self, params: Params) -> JSONDict:
        webhook = self._webhook
        info: JSONDict = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates.pending),
        }
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.ip_address:
                info["ip_address"] = webhook.ip_address
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = list(webhook.allowed_updates)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # ------------------------------------------------------------------------------------------
    # Bot API methods: sending
    # ------------------------------------------------------------------------------------------
    async def _api_send_message(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        raw, formatted = self._message_text(params)
        markup, markup_kind = self._reply_markup(params)
        reply_to = self._reply_target(chat, params)
        return self._store_bot_message(
            chat,
            params,
            "text",
            raw_text=raw,
            formatted=formatted,
            markup=markup,
            markup_kind=markup_kind,
            reply_to=reply_to,
        )

    async def _api_send_photo(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        source = self._input_file(params, "photo")
        raw, caption = self._caption(params)
        markup, markup_kind = self._reply_markup(params)
        reply_to = self._reply_target(chat, params)
        mime = image_mime_type(source.content) if isinstance(source, Upload) else "image/jpeg"
        stored = self._commit_file(source, "photos", ".jpg", mime)
        return self._store_bot_message(
            chat,
            params,
            "photo",
            raw_text=raw,
            formatted=caption,
            markup=markup,
            markup_kind=markup_kind,
            reply_to=reply_to,
            media={"photo": self._photo_sizes(stored)},
            photo_bytes=stored.content or None,
            file_id=stored.file_id,
        )

    async def _api_send_document(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        source = self._input_file(params, "document")
        raw, caption = self._caption(params)
        markup, markup_kind = self._reply_markup(params)
        reply_to = self._reply_target(chat, params)
        stored = self._commit_file(source, "documents", "")
        mime = stored.mime_type or guess_mime_type(stored.filename)
        document: JSONDict = {**self._file_api(stored), "mime_type": mime}
        if stored.filename:
            document["file_name"] = stored.filename
        return self._store_bot_message(
            chat,
            params,
            "document",
            raw_text=raw,
            formatted=caption,
            markup=markup,
            markup_kind=markup_kind,
            reply_to=reply_to,
            media={"document": document},
            document_name=stored.filename,
            document_bytes=stored.content,
            document_mime_type=mime,
            file_id=stored.file_id,
        )

    async def _api_send_sticker(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        source = self._input_file(params, "sticker")
        markup, markup_kind = self._reply_markup(params)
        reply_to = self._reply_target(chat, params)
        stored = self._commit_file(source, "stickers", ".webp", "image/webp")
        sticker: JSONDict = {
            **self._file_api(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        emoji = params.get_str("emoji")
        if emoji:
            sticker["emoji"] = emoji
        return self._store_bot_message(
            chat,
            params,
            "sticker",
            raw_text=None,
            formatted=FormattedText(""),
            markup=markup,
            markup_kind=markup_kind,
            reply_to=reply_to,
            media={"sticker": sticker},
            file_id=stored.file_id,
        )

    async def _api_send_voice(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        source = self._input_file(params, "voice")
        raw, caption = self._caption(params)
        markup, markup_kind = self._reply_markup(params)
        reply_to = self._reply_target(chat, params)
        stored = self._commit_file(source, "voice", ".oga", "audio/ogg")
        voice: JSONDict = {
            **self._file_api(stored),
            "duration": params.get_int("duration") or 0,
            "mime_type": "audio/ogg",
        }
        return self._store_bot_message(
            chat,
            params,
            "voice",
            raw_text=raw,
            formatted=caption,
            markup=markup,
            markup_kind=markup_kind,
            reply_to=reply_to,
            media={"voice": voice},
            file_id=stored.file_id,
        )

    async def _api_send_location(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        latitude = params.get_float("latitude")
        longitude = params.get_float("longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise ApiError.bad_request("wrong latitude specified")
        if longitude is None or not -180 <= longitude <= 180:
            raise ApiError.bad_request("wrong longitude specified")
        markup, markup_kind = self._reply_markup(params)
        reply_to = self._reply_target(chat, params)
        location: JSONDict = {"latitude": latitude, "longitude": longitude}
        live_period = params.get_int("live_period")
        if live_period:
            location["live_period"] = live_period
        return self._store_bot_message(
            chat,
            params,
            "location",
            raw_text=None,
            formatted=FormattedText(""),
            markup=markup,
            markup_kind=markup_kind,
            reply_to=reply_to,
            media={"location": location},
        )

    async def _api_send_chat_action(self, params: Params) -> bool:
        chat = self._require_chat(params)
        action = params.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    # ------------------------------------------------------------------------------------------
    # Bot API methods: editing and deleting
    # ------------------------------------------------------------------------------------------
    async def _api_edit_message_text(self, params: Params) -> JSONDict:
        message = self._editable_message(params)
        if message.kind != "text":
            raise ApiError.bad_request("there is no text in the message to edit")
        raw, formatted = self._message_text(params)
        return self._edit_formatted(message, params, raw, formatted)

    async def _api_edit_message_caption(self, params: Params) -> JSONDict:
        message = self._editable_message(params)
        if not message.has_caption_slot:
            raise ApiError.bad_request("there is no caption in the message to edit")
        raw, caption = self._caption(params)
        return self._edit_formatted(message, params, raw, caption)

    def _edit_formatted(
        self, message: StoredMessage, params: Params, raw: str | None, formatted: FormattedText
    ) -> JSONDict:
        """Replace a message's text or caption (and inline keyboard), as Telegram edits do."""
        markup = self._inline_markup(params)
        if (
            formatted.text == message.text
            and formatted.entities == message.entities
            and markup == self._current_inline(message)
        ):
            raise ApiError.bad_request(_NOT_MODIFIED)
        message.text = formatted.text
        message.entities = formatted.entities
        message.html = raw
        message.parse_mode = params.get_str("parse_mode")
        message.reply_markup = markup
        return self._apply_edit(message)

    async def _api_edit_message_reply_markup(self, params: Params) -> JSONDict:
        message = self._editable_message(params)
        markup = self._inline_markup(params)
        if markup == self._current_inline(message):
            raise ApiError.bad_request(_NOT_MODIFIED)
        message.reply_markup = markup
        return self._apply_edit(message)

    async def _api_delete_message(self, params: Params) -> bool:
        chat = self._require_chat(params)
        message_id = params.get_int("message_id")
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise ApiError.bad_request("message to delete not found")
        message.deleted = True
        return True

    async def _api_delete_messages(self, params: Params) -> bool:
        chat = self._require_chat(params)
        message_ids = params.get_array("message_ids")
        if not message_ids or len(message_ids) > 100:
            raise ApiError.bad_request("message_ids must contain 1-100 message identifiers")
        for message_id in message_ids:
            message = chat.messages.get(message_id) if isinstance(message_id, int) else None
            if message is not None:
                message.deleted = True
        return True

    # ------------------------------------------------------------------------------------------
    # Bot API methods: callbacks, files, commands, menu, profile
    # ------------------------------------------------------------------------------------------
    async def _api_answer_callback_query(self, params: Params) -> bool:
        text = params.get_str("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        query_id = params.get_str("callback_query_id") or ""
        query = self._callback_queries.get(query_id)
        if query is None or query.answered:
            raise ApiError.bad_request(_CALLBACK_QUERY_INVALID)
        query.answered = True
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": text,
                "show_alert": params.get_bool("show_alert"),
                "url": params.get_str("url"),
                "cache_time": params.get_int("cache_time") or 0,
                "user_id": query.user_id,
                "chat_id": query.chat_id,
                "message_id": query.message_id,
            }
        )
        return True

    async def _api_get_file(self, params: Params) -> JSONDict:
        stored = self._files.get(params.get_str("file_id") or "")
        if stored is None:
            raise ApiError.bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise ApiError.bad_request("file is too big")
        return {**self._file_api(stored), "file_path": stored.file_path}

    def _scope_key(self, params: Params) -> str:
        scope = params.get_object("scope") or {"type": "default"}
        kind = scope.get("type", "default")
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return str(kind)
        if kind not in ("chat", "chat_administrators", "chat_member"):
            raise ApiError.bad_request("unsupported bot command scope type")
        chat = self._require_chat(Params(scope))
        if kind == "chat_member":
            user_id = Params(scope).get_int("user_id")
            if user_id is None:
                raise ApiError.bad_request("user not found")
            return f"chat_member:{chat.id}:{user_id}"
        return f"{kind}:{chat.id}"

    async def _api_set_my_commands(self, params: Params) -> bool:
        commands = params.get_array("commands")
        if commands is None:
            raise ApiError.bad_request('parameter "commands" is required')
        if len(commands) > MAX_COMMANDS:
            raise ApiError.bad_request("too many commands")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError.bad_request("can't parse BotCommand")
            command = item.get("command")
            description = item.get("description")
            if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command.lstrip("/")):
                raise ApiError.bad_request("BOT_COMMAND_INVALID")
            if (
                not isinstance(description, str)
                or not description.strip()
                or len(description) > MAX_COMMAND_DESCRIPTION
            ):
                raise ApiError.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command.lstrip("/"), "description": description})
        scope = self._scope_key(params)
        language = params.get_str("language_code") or ""
        if cleaned:
            self.commands.setdefault(scope, {})[language] = cleaned
        else:
            self._forget_commands(scope, language)
        return True

    def _forget_commands(self, scope: str, language: str) -> None:
        by_language = self.commands.get(scope)
        if by_language is not None:
            by_language.pop(language, None)
            if not by_language:
                del self.commands[scope]

    async def _api_delete_my_commands(self, params: Params) -> bool:
        self._forget_commands(self._scope_key(params), params.get_str("language_code") or "")
        return True

    async def _api_get_my_commands(self, params: Params) -> list[dict[str, str]]:
        scope = self._scope_key(params)
        language = params.get_str("language_code") or ""
        return [dict(c) for c in self.commands.get(scope, {}).get(language, [])]

    async def _api_set_chat_menu_button(self, params: Params) -> bool:
        chat_id: int | None = None
        if params.get_chat_id() is not None:
            chat = self._require_chat(params)
            if not chat.is_private:
                raise ApiError.bad_request("menu button can be changed only in private chats")
            chat_id = chat.id
        button = params.get_object("menu_button") or {"type": "default"}
        kind = button.get("type")
        if kind not in ("default", "commands", "web_app"):
            raise ApiError.bad_request("unsupported menu button type")
        if kind == "web_app" and not (button.get("text") and button.get("web_app")):
            raise ApiError.bad_request("menu button text and web_app must be specified")
        self.menu_buttons[chat_id] = button
        return True

    async def _api_get_chat_menu_button(self, params: Params) -> JSONDict:
        chat_id = self._require_chat(params).id if params.get_chat_id() is not None else None
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return dict(button) if button else {"type": "default"}

    def _profile_setter(self, name: str, max_length: int) -> _Handler:
        async def handler(params: Params) -> bool:
            value = params.get_str(name) or ""
            if len(value) > max_length:
                raise ApiError.bad_request(f"{name} is too long")
            language = params.get_str("language_code") or ""
            values = self.profile.setdefault(name, {})
            if value:
                values[language] = value
            else:
                values.pop(language, None)
            return True

        return handler

    def _profile_getter(self, name: str) -> _Handler:
        async def handler(params: Params) -> JSONDict:
            values = self.profile.get(name, {})
            language = params.get_str("language_code") or ""
            default = self.bot_first_name if name == "name" else ""
            return {name: values.get(language, values.get("", default))}

        return handler

    # ------------------------------------------------------------------------------------------
    # Bot API methods: chats and members
    # ------------------------------------------------------------------------------------------
    async def _api_create_forum_topic(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        if not chat.is_forum:
            raise ApiError.bad_request("the chat is not a forum")
        name = params.get_str("name") or ""
        if not 1 <= len(name) <= 128:
            raise ApiError.bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        topic: JSONDict = {"name": name, "icon_color": params.get_int("icon_color") or 7322096}
        thread_id = chat.allocate_message_id()
        chat.messages[thread_id] = StoredMessage(
            message_id=thread_id,
            chat_id=chat.id,
            from_bot=True,
            date=_now(),
            kind="forum_topic_created",
            from_user_id=self.bot_id,
            message_thread_id=thread_id,
            media={"forum_topic_created": dict(topic)},
        )
        chat.topics[thread_id] = topic
        return {"message_thread_id": thread_id, **topic}

    def forum_topics(self, chat_id: int) -> dict[int, str]:
        """The topics of a forum group: name by ``message_thread_id``."""
        return {thread: str(t["name"]) for thread, t in self._chats[chat_id].topics.items()}

    async def _api_get_chat(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        return {
            **chat.api,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, chat: _Chat, user: JSONDict) -> JSONDict:
        user_id = int(user["id"])
        if not chat.is_private and user_id == chat.owner_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if not chat.is_private and user_id in chat.admin_ids:
            rights = dict.fromkeys(_ADMIN_RIGHTS, True)
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                **rights,
            }
        return {"status": "member", "user": user}

    async def _api_get_chat_member(self, params: Params) -> JSONDict:
        chat = self._require_chat(params)
        user_id = params.get_int("user_id")
        if user_id == self.bot_id:
            return self._member(chat, self._bot_user())
        user = self._users.get(user_id) if user_id is not None else None
        if user is None or (chat.is_private and user_id != chat.id):
            raise ApiError.bad_request("user not found")
        return self._member(chat, dict(user))

    async def _api_get_chat_administrators(self, params: Params) -> list[JSONDict]:
        chat = self._require_chat(params)
        if chat.is_private:
            raise ApiError.bad_request("there are no administrators in the private chat")
        ids = ([chat.owner_id] if chat.owner_id is not None else []) + sorted(chat.admin_ids)
        members: list[JSONDict] = []
        for user_id in ids:
            user = self._bot_user() if user_id == self.bot_id else self._users.get(user_id)
            if user is not None:
                members.append(self._member(chat, dict(user)))
        return members

    # ------------------------------------------------------------------------------------------
    # webhook delivery
    # ------------------------------------------------------------------------------------------
    def _ensure_webhook_worker(self) -> None:
        if not self._running:
            return
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(
                self._webhook_worker(), name="localapi-webhook-delivery"
            )

    async def _webhook_worker(self) -> None:
        """Deliver pending updates one at a time, in order, while a webhook is set."""
        while self._running and self._webhook is not None:
            pending = self._updates.pending
            if not pending:
                await self._signal.wait(None)
                continue
            try:
                await self._deliver_via_webhook(pending[0])
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not silently stop delivery
                log.exception("webhook delivery of update %s failed", pending[0].update_id)
                self._updates.drop(pending[0], "internal error while delivering it")

    async def _deliver_via_webhook(self, entry: PendingUpdate) -> None:
        for attempt in range(1, self.webhook_max_attempts + 1):
            webhook = self._webhook
            if webhook is None or not self._running or entry not in self._updates.pending:
                return
            status, reply = await self._post_update(webhook.url, entry.update, webhook.secret_token)
            self.webhook_attempts.append((entry.update_id, status))
            self.stats.webhook_posts += 1
            if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
                self._updates.acknowledge(entry)
                if reply is not None and "method" in reply.fields:
                    await self._execute_webhook_reply(reply)
                return
            message = (
                "Connection failed"
                if status == 0
                else f"Wrong response from the webhook: {status} {_reason(status)}"
            )
            self._webhook_error = (_now(), message)
            self._signal.notify()
            if attempt < self.webhook_max_attempts:
                await asyncio.sleep(self.webhook_retry_delay * 2 ** (attempt - 1))
        self.stats.webhook_failures += 1
        self._updates.drop(entry, f"the webhook failed {self.webhook_max_attempts} attempts")

    async def _post_update(
        self, url: str, update: JSONDict, secret: str | None
    ) -> tuple[int, RawBody | None]:
        client = self._client
        if client is None:
            raise RuntimeError("LocalBotAPI is not running; call start() first")
        headers = {SECRET_TOKEN_HEADER: secret} if secret is not None else {}
        try:
            async with client.post(
                url,
                json=update,
                headers=headers,
                timeout=ClientTimeout(total=self.webhook_timeout),
            ) as response:
                reply: RawBody | None = None
                if HTTPStatus.OK <= response.status < HTTPStatus.MULTIPLE_CHOICES:
                    try:
                        reply = await read_webhook_reply(response)
                    except (ApiError, ClientError, ValueError):
                        log.debug("ignoring an unparsable webhook reply", exc_info=True)
                return response.status, reply
        except (ClientError, TimeoutError):
            log.debug("webhook POST to %s failed", url, exc_info=True)
            return 0, None

    async def _execute_webhook_reply(self, reply: RawBody) -> None:
        fields = dict(reply.fields)
        method = str(fields.pop("method"))
        try:
            params = Params.from_raw(RawBody(fields=fields, uploads=reply.uploads))
        except ApiError as error:
            self.calls.append(
                ApiCall(
                    method,
                    {},
                    status=error.error_code,
                    error=error.description,
                    source="webhook_reply",
                )
            )
            return
        await self._call(method, params, source="webhook_reply")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
