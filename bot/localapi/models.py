"""Records kept by the emulator: messages, API calls, files, webhook settings and counters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.localapi.markup import inline_buttons

__all__ = [
    "ApiCall",
    "MessageKind",
    "Stats",
    "StoredFile",
    "StoredMessage",
    "WebhookConfig",
]

MessageKind = Literal[
    "text", "photo", "document", "sticker", "voice", "location", "forum_topic_created"
]


@dataclass
class StoredMessage:
    """One message in a chat, as it currently is (edits applied, deletions flagged).

    ``text`` is what the user sees: the message text or media caption with HTML/Markdown already
    parsed away. ``html`` is the raw text or caption exactly as sent (with tags) for bot messages
    and the typed text for user messages; ``parse_mode`` is the mode it was sent with.
    ``reply_markup`` is the markup as sent with the message; after an edit it is the message's
    current inline keyboard (or ``None``). ``media`` holds the Bot API objects of the message
    content (``photo``, ``document``, ``sticker``, ``voice`` or ``location``).
    """

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    kind: MessageKind = "text"
    from_user_id: int = 0
    text: str = ""
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None
    document_name: str | None = None
    document_bytes: bytes | None = field(default=None, repr=False)
    document_mime_type: str | None = None
    photo_bytes: bytes | None = field(default=None, repr=False)
    file_id: str | None = None
    edited: bool = False
    edit_date: int | None = None
    deleted: bool = False
    media: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_caption_slot(self) -> bool:
        """Whether the message is a media message whose ``text`` is a caption."""
        return self.kind in ("photo", "document", "voice")

    @property
    def location(self) -> tuple[float, float] | None:
        """``(latitude, longitude)`` of a location message."""
        loc = self.media.get("location")
        if not isinstance(loc, dict):
            return None
        return float(loc["latitude"]), float(loc["longitude"])

    def inline_buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons of the message, row by row."""
        return inline_buttons(self.reply_markup)

    def button_texts(self) -> list[str]:
        """Labels of the inline keyboard buttons, row by row."""
        return [str(button.get("text", "")) for button in self.inline_buttons()]

    def find_button(self, text: str) -> dict[str, Any]:
        """The inline button whose label equals ``text`` or, failing that, contains it."""
        buttons = self.inline_buttons()
        for button in buttons:
            if button.get("text") == text:
                return button
        for button in buttons:
            if text in str(button.get("text", "")):
                return button
        raise LookupError(
            f"message {self.message_id} in chat {self.chat_id} has no inline button "
            f"labelled {text!r}; buttons: {self.button_texts()!r}"
        )

    def button_data(self, text: str) -> str:
        """``callback_data`` of the inline button labelled ``text`` (exact, then substring)."""
        button = self.find_button(text)
        data = button.get("callback_data")
        if not isinstance(data, str):
            raise LookupError(
                f"inline button {button.get('text')!r} of message {self.message_id} "
                f"has no callback_data (it is a {self._button_action(button)} button)"
            )
        return data

    @staticmethod
    def _button_action(button: dict[str, Any]) -> str:
        actions = [key for key in button if key not in ("text", "style", "icon_custom_emoji_id")]
        return actions[0] if actions else "text"


@dataclass
class ApiCall:
    """One request received by the emulator and how it was answered."""

    method: str
    params: dict[str, Any]
    status: int = 200
    error: str | None = None
    result: Any = None
    source: Literal["http", "webhook_reply"] = "http"
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == 200


@dataclass(frozen=True)
class StoredFile:
    """A file known to the emulator, downloadable through ``getFile`` and ``/file/bot...``."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes = field(repr=False)
    filename: str | None = None
    mime_type: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content)


@dataclass(frozen=True)
class WebhookConfig:
    """The webhook as configured by the last successful ``setWebhook``."""

    url: str
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    ip_address: str | None = None


@dataclass
class Stats:
    """Counters for tests and benchmarks."""

    requests: int = 0
    sent_ok: int = 0
    edited_ok: int = 0
    deleted_ok: int = 0
    rejected_429: int = 0
    rejected_403: int = 0
    bad_requests: int = 0
    injected_failures: int = 0
    updates_created: int = 0
    webhook_posts: int = 0
    webhook_failures: int = 0
