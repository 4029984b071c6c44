"""Validation of ``reply_markup`` objects the way Telegram checks them."""

from __future__ import annotations

from typing import Any, Literal

from bot.localapi.errors import ApiError

__all__ = [
    "INLINE_BUTTON_ACTIONS",
    "MarkupKind",
    "inline_buttons",
    "reply_keyboard_texts",
    "validate_reply_markup",
]

MarkupKind = Literal["inline", "reply", "remove", "force_reply"]

#: Optional InlineKeyboardButton fields of which exactly one must be set.
INLINE_BUTTON_ACTIONS: tuple[str, ...] = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_REPLY_BUTTONS = 300
_URL_SCHEMES = ("http://", "https://", "tg://", "ton://")


def _bad_markup() -> ApiError:
    return ApiError.bad_request("can't parse reply keyboard markup JSON object")


def _button_error(detail: str) -> ApiError:
    return ApiError.bad_request(f"can't parse inline keyboard button: {detail}")


def _rows(value: Any) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise _bad_markup()
    return value


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    if not text.strip():
        raise ApiError.bad_request("BUTTON_TEXT_EMPTY")
    actions = [name for name in INLINE_BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error(
            "exactly one of the optional fields must be used, got " + ", ".join(actions)
        )
    action = actions[0]
    if action == "callback_data":
        data = button["callback_data"]
        if not isinstance(data, str):
            raise _button_error('Field "callback_data" must be of type String')
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise ApiError.bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        url = button["url"]
        if not isinstance(url, str) or not url.strip().lower().startswith(_URL_SCHEMES):
            raise ApiError.bad_request("BUTTON_URL_INVALID")


def _validate_reply_button(button: Any) -> None:
    if isinstance(button, str):
        text: Any = button
    elif isinstance(button, dict):
        text = button.get("text")
    else:
        raise _bad_markup()
    if not isinstance(text, str) or not text.strip():
        raise ApiError.bad_request("BUTTON_TEXT_EMPTY")


def validate_reply_markup(markup: Any) -> MarkupKind:
    """Check a decoded ``reply_markup`` object and return which of the four kinds it is.

    Raises :class:`ApiError` with Telegram's descriptions, notably ``BUTTON_DATA_INVALID`` for
    ``callback_data`` outside 1-64 UTF-8 bytes.
    """
    if not isinstance(markup, dict):
        raise _bad_markup()
    if "inline_keyboard" in markup:
        rows = _rows(markup["inline_keyboard"])
        count = 0
        for row in rows:
            for button in row:
                _validate_inline_button(button)
                count += 1
        if count > MAX_INLINE_BUTTONS:
            raise ApiError.bad_request("reply markup is too long")
        return "inline"
    if "keyboard" in markup:
        rows = _rows(markup["keyboard"])
        buttons = [button for row in rows for button in row]
        if not buttons:
            raise ApiError.bad_request("keyboard must be non-empty")
        if len(buttons) > MAX_REPLY_BUTTONS:
            raise ApiError.bad_request("reply markup is too long")
        for button in buttons:
            _validate_reply_button(button)
        return "reply"
    if markup.get("remove_keyboard") is True:
        return "remove"
    if markup.get("force_reply") is True:
        return "force_reply"
    raise _bad_markup()


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All buttons of an inline keyboard, row by row (empty for other markups or ``None``)."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


def reply_keyboard_texts(markup: dict[str, Any]) -> list[list[str]]:
    """Button labels of a ``ReplyKeyboardMarkup``, keeping its row layout."""
    return [
        [button if isinstance(button, str) else str(button.get("text", "")) for button in row]
        for row in markup.get("keyboard", [])
    ]
