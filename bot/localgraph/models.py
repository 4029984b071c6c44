"""Records kept by :class:`~bot.localgraph.server.LocalGraphAPI`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SentMessage:
    """A message the page sent to a person (an accepted Send API call)."""

    psid: str
    mid: str
    messaging_type: str
    tag: str | None
    #: the text, or a button template's text
    text: str | None
    #: (title, payload) of the quick replies
    quick_replies: list[tuple[str, str]] = field(default_factory=list)
    #: (title, payload) of postback buttons, (title, url) of web_url buttons
    buttons: list[tuple[str, str]] = field(default_factory=list)
    attachment_id: str | None = None
    #: the image's bytes when the attachment was uploaded to this server
    image: bytes | None = None
    #: "text", "template" or "image"
    kind: str = "text"
    sent_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def quick_reply_titles(self) -> list[str]:
        return [title for title, _ in self.quick_replies]

    @property
    def button_titles(self) -> list[str]:
        return [title for title, _ in self.buttons]

    def payload_of(self, title: str) -> str:
        """The payload (or url) of the quick reply or button titled ``title``."""
        for shown, payload in [*self.quick_replies, *self.buttons]:
            if shown == title:
                return payload
        raise KeyError(f"no quick reply or button {title!r} in {self.text!r}")


@dataclass(frozen=True)
class Upload:
    """An attachment uploaded through ``/me/message_attachments``."""

    attachment_id: str
    data: bytes
    content_type: str
    filename: str | None
    attachment_type: str


@dataclass(frozen=True)
class GraphCall:
    """One request to the Graph side (accepted or refused)."""

    endpoint: str  # "messages", "message_attachments", "messenger_profile", ...
    method: str
    psid: str | None
    status: int
    error_code: int | None = None
    error_subcode: int | None = None
    at: float = 0.0  # time.time() when it was answered


@dataclass
class Fault:
    """An injected error for the next Send API calls (of one PSID, or of any call)."""

    psid: str | None
    code: int
    subcode: int | None
    status: int
    times: int
    message: str
