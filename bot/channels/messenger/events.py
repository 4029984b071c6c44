"""Meta's webhook JSON → one :class:`MessengerEvent` per message, quick reply, postback or
m.me referral.

Echoes of the page's own messages, delivery and read receipts and anything else a page
subscription may carry are ignored.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any


class MalformedEvent(ValueError):
    """The body is not the JSON object Meta sends."""


@dataclass(frozen=True, slots=True)
class Attachment:
    type: str  # "image", "file", "audio", "video", "location", "fallback", ...
    url: str | None = None


@dataclass(frozen=True, slots=True)
class MessengerEvent:
    psid: str
    mid: str  # the message id; for a postback without one: sender, time and payload
    timestamp: int  # milliseconds since the epoch, as Meta sends it
    text: str | None = None
    payload: str | None = None  # a quick reply's or a postback's payload
    is_postback: bool = False
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    location: tuple[float, float] | None = None  # (lat, lon)
    #: the ``ref`` of an m.me link or Messenger QR code that started the conversation (Meta
    #: sends it inside the Get Started postback; in an existing conversation a referral event
    #: becomes the payload ``start:<ref>`` instead)
    referral: str | None = None

    @property
    def images(self) -> list[str]:
        """URLs of the images sent."""
        return [a.url for a in self.attachments if a.type == "image" and a.url]


def _attachments(items: Any) -> tuple[tuple[Attachment, ...], tuple[float, float] | None]:
    found: list[Attachment] = []
    location: tuple[float, float] | None = None
    if not isinstance(items, list):
        return (), None
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type") or "")
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        assert isinstance(payload, dict)
        coordinates = payload.get("coordinates")
        if kind == "location" and isinstance(coordinates, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                location = (float(coordinates["lat"]), float(coordinates["long"]))
        url = payload.get("url")
        found.append(Attachment(kind, url if isinstance(url, str) else None))
    return tuple(found), location


def _event(item: dict[str, Any]) -> MessengerEvent | None:
    sender = item.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(psid, str | int) or not str(psid):
        return None
    psid = str(psid)
    timestamp = item.get("timestamp")
    timestamp = int(timestamp) if isinstance(timestamp, int | float) else 0
    message = item.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return None
        mid = message.get("mid")
        if not isinstance(mid, str) or not mid:
            return None
        quick_reply = message.get("quick_reply")
        payload = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
        text = message.get("text")
        attachments, location = _attachments(message.get("attachments"))
        return MessengerEvent(
            psid=psid,
            mid=mid,
            timestamp=timestamp,
            text=text if isinstance(text, str) else None,
            payload=payload if isinstance(payload, str) and payload else None,
            attachments=attachments,
            location=location,
        )
    referral = item.get("referral")
    if isinstance(referral, dict):
        # An m.me link with ?ref=… opened in an existing conversation: the same as a Telegram
        # deep link (https://m.me/<page>?ref=poll_12 opens the poll, ref=evt_5 the event).
        ref = referral.get("ref")
        if not isinstance(ref, str) or not ref:
            return None
        return MessengerEvent(
            psid=psid,
            mid=f"referral:{psid}:{timestamp}:{ref}"[:255],
            timestamp=timestamp,
            payload=f"start:{ref}"[:1000],
            is_postback=True,
        )
    postback = item.get("postback")
    if isinstance(postback, dict):
        payload = postback.get("payload")
        if not isinstance(payload, str) or not payload:
            return None
        mid = postback.get("mid")
        if not isinstance(mid, str) or not mid:
            mid = f"postback:{psid}:{timestamp}:{payload}"[:255]
        referral = postback.get("referral")
        ref = referral.get("ref") if isinstance(referral, dict) else None
        return MessengerEvent(
            psid=psid,
            mid=mid,
            timestamp=timestamp,
            payload=payload,
            is_postback=True,
            referral=ref[:1000] if isinstance(ref, str) and ref else None,
        )
    return None  # delivery, read, reaction, ...


def parse(body: Any) -> list[MessengerEvent]:
    """Every event of every entry, in the order Meta sent them."""
    if not isinstance(body, dict) or not isinstance(body.get("entry", []), list):
        raise MalformedEvent("not a webhook body")
    events: list[MessengerEvent] = []
    for entry in body.get("entry", []):
        if not isinstance(entry, dict):
            continue
        messaging = entry.get("messaging")
        if not isinstance(messaging, list):
            continue
        for item in messaging:
            if isinstance(item, dict) and (event := _event(item)) is not None:
                events.append(event)
    return events
