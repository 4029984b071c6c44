"""Checks of Send API and messenger_profile requests against Messenger's documented limits.

A refused request raises :class:`GraphError`, answered like Graph does:
HTTP 400 ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_PAYLOAD = 1000
MAX_BUTTONS = 3
MAX_BUTTON_TEXT = 640
MAX_MENU_ITEMS = 20
MAX_MENU_TITLE = 30
MAX_GREETING = 160
MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
MESSAGE_TAGS = frozenset(
    {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"}
)
PROFILE_FIELDS = frozenset(
    {
        "get_started",
        "persistent_menu",
        "greeting",
        "ice_breakers",
        "whitelisted_domains",
        "account_linking_url",
    }
)

DEFAULT_MESSAGES = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) This message is sent outside of allowed window.",
    100: "(#100) No matching user found",
    190: "Invalid OAuth access token - Cannot parse access token",
    551: "(#551) This person isn't available right now.",
    613: "(#613) Calls to this api have exceeded the rate limit.",
}


class GraphError(Exception):
    """A Graph error answer."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        subcode: int | None = None,
        status: int = 400,
        error_type: str = "OAuthException",
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.status = status
        self.message = message or DEFAULT_MESSAGES.get(code, "An unknown error occurred")
        self.error_type = error_type
        super().__init__(f"{code}/{subcode}: {self.message}")

    def response(self) -> web.Response:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "fbtrace_id": secrets.token_urlsafe(8),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return web.json_response({"error": error}, status=self.status)


def invalid(message: str) -> GraphError:
    """A code 100 "invalid parameter" error (a violation of the limits)."""
    return GraphError(100, f"(#100) {message}")


def _string(value: Any, what: str, limit: int, *, minimum: int = 1) -> str:
    if not isinstance(value, str):
        raise invalid(f"{what} must be a string")
    if not minimum <= len(value) <= limit:
        raise invalid(f"{what} must have {minimum}-{limit} characters (has {len(value)})")
    return value


def _url(value: Any, what: str) -> str:
    url = _string(value, what, 2000)
    if not url.startswith(("https://", "http://")):
        raise invalid(f"{what} must be an http(s) URL")
    return url


def check_quick_replies(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not value:
        raise invalid("param message[quick_replies] must be a non-empty array")
    if len(value) > MAX_QUICK_REPLIES:
        raise invalid(f"param message[quick_replies] must have at most {MAX_QUICK_REPLIES} items")
    replies: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise invalid("a quick reply must be an object")
        kind = item.get("content_type")
        if kind in ("user_phone_number", "user_email"):
            continue
        if kind != "text":
            raise invalid(f"quick reply content_type {kind!r} is not supported")
        unknown = set(item) - {"content_type", "title", "payload", "image_url"}
        if unknown:
            raise invalid(f"unknown quick reply fields {sorted(unknown)}")
        title = _string(item.get("title"), "quick reply title", MAX_TITLE)
        payload = _string(item.get("payload"), "quick reply payload", MAX_PAYLOAD)
        replies.append((title, payload))
    return replies


def check_buttons(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not value:
        raise invalid("param buttons must be a non-empty array")
    if len(value) > MAX_BUTTONS:
        raise invalid(f"param buttons must have at most {MAX_BUTTONS} items")
    buttons: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise invalid("a button must be an object")
        kind = item.get("type")
        title = _string(item.get("title"), "button title", MAX_TITLE)
        if kind == "postback":
            buttons.append((title, _string(item.get("payload"), "button payload", MAX_PAYLOAD)))
        elif kind == "web_url":
            buttons.append((title, _url(item.get("url"), "button url")))
        else:
            raise invalid(f"button type {kind!r} is not supported")
    return buttons


def check_send(body: Any) -> tuple[str, str, str | None, dict[str, Any]]:
    """Validate a Send API body; (psid, messaging_type, tag, message)."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str | int):
        raise invalid("param recipient[id] must be a string")
    psid = str(recipient["id"])
    if not psid:
        raise invalid("param recipient[id] must not be empty")
    messaging_type = body.get("messaging_type")
    if messaging_type not in MESSAGING_TYPES:
        raise invalid(f"param messaging_type must be one of {sorted(MESSAGING_TYPES)}")
    tag = body.get("tag")
    if messaging_type == "MESSAGE_TAG":
        if tag not in MESSAGE_TAGS:
            raise invalid(f"param tag must be one of {sorted(MESSAGE_TAGS)}")
    elif tag is not None:
        raise invalid("param tag is only allowed with messaging_type MESSAGE_TAG")
    if "sender_action" in body:
        raise invalid("sender_action is not supported by the local Graph API")
    message = body.get("message")
    if not isinstance(message, dict):
        raise invalid("param message must be an object")
    unknown = set(message) - {"text", "attachment", "quick_replies", "metadata"}
    if unknown:
        raise invalid(f"unknown message fields {sorted(unknown)}")
    if ("text" in message) == ("attachment" in message):
        raise invalid("param message must have exactly one of text and attachment")
    if "text" in message:
        _string(message["text"], "param message[text]", MAX_TEXT)
    else:
        check_attachment(message["attachment"])
    if "quick_replies" in message:
        check_quick_replies(message["quick_replies"])
    return psid, str(messaging_type), tag if isinstance(tag, str) else None, message


def check_attachment(attachment: Any) -> None:
    if not isinstance(attachment, dict):
        raise invalid("param message[attachment] must be an object")
    kind = attachment.get("type")
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        raise invalid("param message[attachment][payload] must be an object")
    if kind in ("image", "file", "audio", "video"):
        if "attachment_id" in payload:
            _string(payload["attachment_id"], "attachment_id", 100)
        elif "url" in payload:
            _url(payload["url"], "attachment url")
        else:
            raise invalid("an attachment needs attachment_id or url")
    elif kind == "template":
        if payload.get("template_type") != "button":
            raise invalid("only the button template is supported")
        _string(payload.get("text"), "button template text", MAX_BUTTON_TEXT)
        check_buttons(payload.get("buttons"))
    else:
        raise invalid(f"attachment type {kind!r} is not supported")


def check_profile(body: Any) -> dict[str, Any]:
    """Validate a messenger_profile POST body; the fields to store."""
    if not isinstance(body, dict):
        raise invalid("the request body must be a JSON object")
    fields = {key: value for key, value in body.items() if key != "access_token"}
    if not fields:
        raise invalid("no messenger_profile fields given")
    unknown = set(fields) - PROFILE_FIELDS
    if unknown:
        raise invalid(f"unknown messenger_profile fields {sorted(unknown)}")
    if "get_started" in fields:
        started = fields["get_started"]
        if not isinstance(started, dict):
            raise invalid("get_started must be an object")
        _string(started.get("payload"), "get_started payload", MAX_PAYLOAD)
    if "greeting" in fields:
        greetings = fields["greeting"]
        if not isinstance(greetings, list) or not greetings:
            raise invalid("greeting must be a non-empty array")
        for greeting in greetings:
            if not isinstance(greeting, dict):
                raise invalid("a greeting must be an object")
            _string(greeting.get("locale"), "greeting locale", 10)
            _string(greeting.get("text"), "greeting text", MAX_GREETING)
    if "persistent_menu" in fields:
        check_menu(fields["persistent_menu"])
    return fields


def check_menu(menus: Any) -> None:
    if not isinstance(menus, list) or not menus:
        raise invalid("persistent_menu must be a non-empty array")
    locales = set()
    for menu in menus:
        if not isinstance(menu, dict):
            raise invalid("a persistent menu must be an object")
        locale = _string(menu.get("locale"), "persistent menu locale", 10)
        if locale in locales:
            raise invalid(f"persistent menu locale {locale} given twice")
        locales.add(locale)
        items = menu.get("call_to_actions")
        if not isinstance(items, list) or not items:
            raise invalid("call_to_actions must be a non-empty array")
        if len(items) > MAX_MENU_ITEMS:
            raise invalid(f"call_to_actions must have at most {MAX_MENU_ITEMS} items")
        for item in items:
            if not isinstance(item, dict):
                raise invalid("a menu item must be an object")
            _string(item.get("title"), "menu item title", MAX_MENU_TITLE)
            kind = item.get("type")
            if kind == "postback":
                _string(item.get("payload"), "menu item payload", MAX_PAYLOAD)
            elif kind == "web_url":
                _url(item.get("url"), "menu item url")
            else:
                raise invalid(f"menu item type {kind!r} is not supported")
    if "default" not in locales:
        raise invalid("persistent_menu needs a menu for the default locale")
