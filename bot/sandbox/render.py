"""Messages as the sandbox page shows them: safe HTML from text and Bot API entities."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.localapi.models import StoredMessage

_SIMPLE_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}
_SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")


def _tags(entity: dict[str, Any], covered: str) -> tuple[str, str] | None:
    kind = entity.get("type", "")
    if kind in _SIMPLE_TAGS:
        return _SIMPLE_TAGS[kind]
    url = entity.get("url") if kind == "text_link" else covered if kind == "url" else None
    if url and url.startswith(_SAFE_SCHEMES):
        return f'<a href="{html.escape(url)}" target="_blank" rel="noopener">', "</a>"
    return None


def to_html(text: str, entities: list[dict[str, Any]]) -> str:
    """Escape ``text`` and wrap the entity ranges (offsets in UTF-16 code units) in tags."""
    units = text.encode("utf-16-le")
    opens: dict[int, list[tuple[int, str]]] = {}
    closes: dict[int, list[tuple[int, str]]] = {}
    for index, entity in enumerate(entities):
        start, length = int(entity.get("offset", 0)), int(entity.get("length", 0))
        covered = units[start * 2 : (start + length) * 2].decode("utf-16-le", "replace")
        tags = _tags(entity, covered)
        if tags is None or length <= 0:
            continue
        # Longer entities open first and close last, so nested tags stay well formed.
        opens.setdefault(start, []).append((-length * 10_000 + index, tags[0]))
        closes.setdefault(start + length, []).append((length * 10_000 - index, tags[1]))
    boundaries = sorted({0, len(units) // 2, *opens, *closes})
    parts: list[str] = []
    for position, following in zip(boundaries, [*boundaries[1:], None], strict=True):
        parts += [tag for _, tag in sorted(closes.get(position, []))]
        parts += [tag for _, tag in sorted(opens.get(position, []))]
        if following is not None:
            segment = units[position * 2 : following * 2].decode("utf-16-le", "replace")
            parts.append(html.escape(segment))
    return "".join(parts).replace("\n", "<br>")


def _buttons(markup: dict[str, Any] | None) -> list[list[dict[str, str]]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    rows = []
    for row in markup["inline_keyboard"]:
        buttons = []
        for button in row:
            entry = {"text": str(button.get("text", ""))}
            if "callback_data" in button:
                entry["data"] = str(button["callback_data"])
            elif str(button.get("url", "")).startswith(_SAFE_SCHEMES):
                entry["url"] = str(button["url"])
            buttons.append(entry)
        rows.append(buttons)
    return rows


def message_json(message: StoredMessage, sender: str, tz: ZoneInfo) -> dict[str, Any]:
    document = None
    if message.kind == "document" and message.file_id:
        document = {
            "name": message.document_name or "failas",
            "url": f"/files/{message.file_id}",
            "size": len(message.document_bytes or b""),
        }
    return {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "sender": sender,
        "kind": message.kind,
        "html": to_html(message.text, message.entities),
        "time": datetime.fromtimestamp(message.date, tz).strftime("%H:%M"),
        "edited": message.edited,
        "deleted": message.deleted,
        "buttons": _buttons(message.reply_markup),
        "photo_url": f"/files/{message.file_id}"
        if message.kind == "photo" and message.file_id
        else None,
        "document": document,
        "location": (
            {"latitude": message.location[0], "longitude": message.location[1]}
            if message.location
            else None
        ),
    }


def reply_keyboard_json(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]] | None:
    if not markup or "keyboard" not in markup:
        return None
    rows: list[list[dict[str, Any]]] = []
    for row in markup["keyboard"]:
        buttons: list[dict[str, Any]] = []
        for button in row:
            if isinstance(button, str):
                buttons.append({"text": button})
            else:
                buttons.append(
                    {
                        "text": str(button.get("text", "")),
                        "request_location": bool(button.get("request_location")),
                    }
                )
        rows.append(buttons)
    return rows
