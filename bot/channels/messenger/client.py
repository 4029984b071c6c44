"""Graph API client for the Messenger Platform: Send API, attachment upload, messenger_profile.

One :class:`OutMessage` may need several Send API calls: text longer than 2000 characters goes
in several messages (cut at sentence boundaries), a button template holds at most 640
characters (the text before goes as plain messages), an image is uploaded once and sent as an
attachment before the text. Quick replies ride on the last message.

Errors come back as ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``;
they are raised as :class:`MessengerError` subclasses. Rate limits (codes 4 and 613), server
errors and network failures are retried with bounded exponential backoff. The page access token
travels as the ``access_token`` query parameter and is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import aiohttp

from bot.channels.messenger.messages import (
    MAX_BUTTON_TEXT,
    MAX_BUTTONS,
    MAX_PAYLOAD,
    MAX_QUICK_REPLIES,
    MAX_TEXT,
    MAX_TITLE,
    Button,
    OutMessage,
    QuickReply,
    split_text,
)

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

CONFIRMED_EVENT_UPDATE = "CONFIRMED_EVENT_UPDATE"
MESSAGE_TAGS = frozenset({CONFIRMED_EVENT_UPDATE, "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"})

#: Error codes of Graph's rate limits (application / API call limits).
RATE_LIMIT_CODES = frozenset({4, 613})
#: Graph's "temporary" error codes: retried like server errors.
TRANSIENT_CODES = frozenset({1, 2})
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
MAX_BACKOFF = 30.0

_TOKEN_RE = re.compile(r"(access_token=)[^&\s]+")


class MessagingType(StrEnum):
    RESPONSE = "RESPONSE"
    UPDATE = "UPDATE"
    MESSAGE_TAG = "MESSAGE_TAG"


class MessengerError(Exception):
    """A Graph API error: ``code``, ``subcode`` (``error_subcode``) and Graph's message."""

    def __init__(
        self, code: int, subcode: int | None = None, message: str = "", status: int = 0
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.message = message
        self.status = status
        super().__init__(f"Graph error {code}/{subcode} (HTTP {status}): {message}")


class RecipientUnreachable(MessengerError):
    """The person can't be messaged (551, or 100 with subcode 2018001)."""


class OutsideWindow(MessengerError):
    """Outside the 24-hour messaging window (10 with subcode 2018278)."""


class RateLimited(MessengerError):
    """Rate limited (4 / 613) even after the bounded retries."""


class GraphUnavailable(MessengerError):
    """Server errors (5xx, codes 1/2) or network failures even after the bounded retries."""


def redact(text: str) -> str:
    """``text`` (a URL, an error) with any ``access_token=...`` value hidden."""
    return _TOKEN_RE.sub(r"\1<redacted>", text)


def error_from(status: int, body: Any) -> MessengerError:
    """The typed error for an HTTP ``status`` and a Graph error ``body``."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        kind = GraphUnavailable if status >= 500 or status == 429 else MessengerError
        return kind(0, None, f"unexpected answer (HTTP {status})", status)
    code = error.get("code")
    subcode = error.get("error_subcode")
    code = code if isinstance(code, int) else 0
    subcode = subcode if isinstance(subcode, int) else None
    message = redact(str(error.get("message", "")))
    if code == 551 or (code == 100 and subcode == 2018001):
        return RecipientUnreachable(code, subcode, message, status)
    if code == 10 and subcode == 2018278:
        return OutsideWindow(code, subcode, message, status)
    if code in RATE_LIMIT_CODES:
        return RateLimited(code, subcode, message, status)
    if status >= 500 or code in TRANSIENT_CODES:
        return GraphUnavailable(code, subcode, message, status)
    return MessengerError(code, subcode, message, status)


def _retryable(error: MessengerError) -> bool:
    return isinstance(error, RateLimited | GraphUnavailable)


def _check_title(title: str, what: str) -> None:
    if not title.strip() or len(title) > MAX_TITLE:
        raise ValueError(f"{what} title must have 1–{MAX_TITLE} characters: {title!r}")


def _check_payload(payload: str, what: str) -> None:
    if not payload or len(payload) > MAX_PAYLOAD:
        raise ValueError(f"{what} payload must have 1–{MAX_PAYLOAD} characters")


def validate(message: OutMessage) -> None:
    """Raise ValueError when ``message`` breaks Messenger's limits (our bug, not the resident's)."""
    if not (message.text.strip() or message.image is not None or message.image_attachment_id):
        raise ValueError("an empty message")
    if message.image is not None and message.image_attachment_id:
        raise ValueError("both image bytes and an attachment id")
    if len(message.quick_replies) > MAX_QUICK_REPLIES:
        raise ValueError(f"{len(message.quick_replies)} quick replies (at most 13)")
    for reply in message.quick_replies:
        _check_title(reply.title, "quick reply")
        _check_payload(reply.payload, "quick reply")
    if len(message.buttons) > MAX_BUTTONS:
        raise ValueError(f"{len(message.buttons)} buttons (at most {MAX_BUTTONS})")
    if message.buttons and not message.text.strip():
        raise ValueError("buttons need a text")
    for button in message.buttons:
        _check_title(button.title, "button")
        if (button.payload is None) == (button.url is None):
            raise ValueError("a button needs either a payload or a url")
        if button.payload is not None:
            _check_payload(button.payload, "button")
        elif button.url is not None and not button.url.startswith(("https://", "http://")):
            raise ValueError("a button's url must be http(s)")


def _quick_replies_json(replies: tuple[QuickReply, ...]) -> list[JSONDict]:
    return [{"content_type": "text", "title": r.title, "payload": r.payload} for r in replies]


def _button_json(button: Button) -> JSONDict:
    if button.url is not None:
        return {"type": "web_url", "url": button.url, "title": button.title}
    return {"type": "postback", "title": button.title, "payload": button.payload}


def message_bodies(message: OutMessage, attachment_id: str | None = None) -> list[JSONDict]:
    """The Send API ``message`` objects for ``message``, in sending order.

    The image (``attachment_id``) comes first, then the text chunks; the last text chunk carries
    the button template; quick replies go on the last message.
    """
    bodies: list[JSONDict] = []
    if attachment_id is not None:
        bodies.append(
            {"attachment": {"type": "image", "payload": {"attachment_id": attachment_id}}}
        )
    chunks = split_text(message.text, MAX_TEXT)
    if message.buttons and chunks and len(chunks[-1]) > MAX_BUTTON_TEXT:
        chunks = chunks[:-1] + split_text(chunks[-1], MAX_BUTTON_TEXT)
    for index, chunk in enumerate(chunks):
        if message.buttons and index == len(chunks) - 1:
            bodies.append(
                {
                    "attachment": {
                        "type": "template",
                        "payload": {
                            "template_type": "button",
                            "text": chunk,
                            "buttons": [_button_json(b) for b in message.buttons],
                        },
                    }
                }
            )
        else:
            bodies.append({"text": chunk})
    if message.quick_replies and bodies:
        bodies[-1]["quick_replies"] = _quick_replies_json(message.quick_replies)
    return bodies


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return "application/octet-stream"


class GraphClient:
    """Messenger's Graph API for one page (see the module's docstring)."""

    def __init__(
        self,
        api_base: str,
        page_access_token: str,
        *,
        max_attempts: int = 4,
        backoff: float = 0.5,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base = api_base.rstrip("/")
        self._token = page_access_token
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the GraphClient's session is closed")
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    async def _pause(self, attempt: int) -> None:
        await asyncio.sleep(min(self._backoff * 2 ** (attempt - 1), MAX_BACKOFF))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: JSONDict | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> JSONDict:
        """One Graph call with retries; the answer's JSON object or a typed error."""
        url = f"{self._base}/{path}"
        params = {"access_token": self._token}
        error: MessengerError | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._http().request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=form() if form is not None else None,
                    timeout=self._timeout,
                ) as response:
                    status = response.status
                    try:
                        body: Any = await response.json(content_type=None)
                    except (ValueError, aiohttp.ContentTypeError):
                        body = None
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = GraphUnavailable(0, None, redact(f"{type(exc).__name__}: {exc}"), 0)
            else:
                if 200 <= status < 300 and isinstance(body, dict) and "error" not in body:
                    return body
                error = error_from(status, body)
            if not _retryable(error) or attempt == self._max_attempts:
                break
            log.info(
                "graph %s %s: error %s/%s (HTTP %s), retry %d of %d",
                method,
                path,
                error.code,
                error.subcode,
                error.status,
                attempt,
                self._max_attempts - 1,
            )
            await self._pause(attempt)
        assert error is not None
        log.warning(
            "graph %s %s failed: error %s/%s (HTTP %s)",
            method,
            path,
            error.code,
            error.subcode,
            error.status,
        )
        raise error

    async def send(
        self,
        psid: str,
        message: OutMessage,
        *,
        messaging_type: MessagingType = MessagingType.RESPONSE,
        tag: str | None = None,
    ) -> list[str]:
        """Send ``message`` to ``psid``; the message ids, one per Send API call."""
        validate(message)
        if (messaging_type is MessagingType.MESSAGE_TAG) != (tag is not None):
            raise ValueError("a tag goes with MESSAGE_TAG, and MESSAGE_TAG needs a tag")
        if tag is not None and tag not in MESSAGE_TAGS:
            raise ValueError(f"unknown message tag {tag!r}")
        attachment_id = message.image_attachment_id
        if message.image is not None:
            attachment_id = await self.upload_image(message.image)
        mids: list[str] = []
        for body in message_bodies(message, attachment_id):
            request: JSONDict = {
                "recipient": {"id": psid},
                "messaging_type": str(messaging_type),
                "message": body,
            }
            if tag is not None:
                request["tag"] = tag
            answer = await self._call("POST", "me/messages", json_body=request)
            mids.append(str(answer.get("message_id", "")))
        return mids

    async def send_text(self, psid: str, text: str, **kwargs: Any) -> list[str]:
        """Shortcut: :meth:`send` of a plain text."""
        return await self.send(psid, OutMessage(text=text), **kwargs)

    async def upload_image(self, data: bytes, filename: str = "image.png") -> str:
        """Upload an image as a reusable attachment; its attachment id."""
        if not data:
            raise ValueError("an empty image")
        message = json.dumps({"attachment": {"type": "image", "payload": {"is_reusable": True}}})
        content_type = _image_type(data)

        def form() -> aiohttp.FormData:
            form_data = aiohttp.FormData()
            form_data.add_field("message", message)
            form_data.add_field("filedata", data, filename=filename, content_type=content_type)
            return form_data

        answer = await self._call("POST", "me/message_attachments", form=form)
        attachment_id = answer.get("attachment_id")
        if not isinstance(attachment_id, str) or not attachment_id:
            raise MessengerError(0, None, "no attachment_id in the upload's answer", 200)
        return attachment_id

    async def set_profile(self, payload: dict[str, Any]) -> None:
        """Set messenger_profile fields (get_started, persistent_menu, greeting, ...)."""
        await self._call("POST", "me/messenger_profile", json_body=payload)

    async def delete_profile(self, fields: list[str]) -> None:
        """Remove messenger_profile fields."""
        await self._call("DELETE", "me/messenger_profile", json_body={"fields": fields})

    async def download(self, url: str) -> bytes:
        """The bytes of an inbound attachment's ``url`` (at most 25 MB)."""
        if not url.startswith(("https://", "http://")):
            raise ValueError("not an http(s) URL")
        error: MessengerError | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._http().get(url, timeout=self._timeout) as response:
                    if response.status == 200:
                        if (response.content_length or 0) > MAX_DOWNLOAD_BYTES:
                            raise MessengerError(0, None, "attachment too large", 200)
                        data = await response.content.read(MAX_DOWNLOAD_BYTES + 1)
                        if len(data) > MAX_DOWNLOAD_BYTES:
                            raise MessengerError(0, None, "attachment too large", 200)
                        return data
                    status = response.status
                if status < 500 and status != 429:
                    raise MessengerError(0, None, f"download failed (HTTP {status})", status)
                error = GraphUnavailable(0, None, f"download failed (HTTP {status})", status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = GraphUnavailable(0, None, f"download failed: {type(exc).__name__}", 0)
            if attempt < self._max_attempts:
                await self._pause(attempt)
        assert error is not None
        log.warning("attachment download failed: HTTP %s", error.status)
        raise error
