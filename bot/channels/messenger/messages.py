"""Outgoing Messenger messages: the model, Messenger's limits, text splitting, HTML → text.

Messenger shows plain text only (no HTML), at most 2000 characters per message, up to 13 quick
replies (titles ≤ 20 characters, payloads ≤ 1000) and button templates with up to 3 buttons and
a text of at most 640 characters. The helpers here keep our messages inside those limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_BUTTONS = 3
MAX_BUTTON_TEXT = 640  # a button template's text
MAX_PAYLOAD = 1000

#: Items on a quick-reply page that is followed by a "more" reply.
PAGE_SIZE = MAX_QUICK_REPLIES - 1


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A quick reply (``content_type`` "text"): a chip under the last message."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Button:
    """A button of a button template: a postback (``payload``) or a link (``url``)."""

    title: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One message to a resident; :class:`GraphClient` turns it into one or more Send API calls."""

    text: str = ""
    quick_replies: tuple[QuickReply, ...] = ()
    buttons: tuple[Button, ...] = ()  # a button template (≤ 3), text ≤ 640
    image: bytes | None = None  # PNG/JPEG bytes, uploaded as an attachment
    image_attachment_id: str | None = None  # an already uploaded image (reusable)


# Where a cut may go, best first: after a sentence (the whitespace following ". ", "! ", "? ",
# "… ", possibly after closing quotes or brackets) or at a line break; else at any whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»“”)\]]*(\s)|(\n)")
_WHITESPACE = re.compile(r"\s")


def _cut_position(text: str, limit: int) -> int:
    """Where to cut ``text`` (longer than ``limit``): ``text[:cut]`` fits and is not blank."""
    window = text[: limit + 1]  # whitespace right after ``limit`` characters is a fine cut
    best = 0
    for match in _SENTENCE_END.finditer(window):
        position = match.start(1) if match.group(1) is not None else match.start(2)
        if 0 < position <= limit and window[:position].strip():
            best = position
    if best:
        return best
    for match in _WHITESPACE.finditer(window):
        position = match.start()
        if 0 < position <= limit and window[:position].strip():
            best = position
    if best:
        return best
    return limit  # a single word longer than the limit


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, none of them blank.

    Cuts go at sentence boundaries (and line breaks) first, then at whitespace; a word is cut
    only when it alone is longer than ``limit``. Whitespace at a cut is dropped, so joining the
    chunks gives back the text up to that whitespace.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            chunks.append(rest)
            break
        cut = _cut_position(rest, limit)
        chunk = rest[:cut].rstrip()
        chunks.append(chunk)
        rest = rest[cut:].lstrip()
    return chunks


def short_title(title: str, limit: int = MAX_TITLE) -> str:
    """``title`` trimmed to ``limit`` characters, ending with "…" when it was cut."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    return title[: limit - 1].rstrip() + "…"


def quick_reply_page(
    items: Sequence[QuickReply], page: int, more_payload: str, more_title: str
) -> tuple[QuickReply, ...]:
    """The quick replies of ``page`` (from 0) of ``items``, within Messenger's 13.

    A page followed by more holds 12 items and a "more" reply (``more_title``, already
    translated; payload ``f"{more_payload}:{page + 1}"``); the last page may hold 13 items.
    A page past the end is empty.
    """
    if page < 0:
        raise ValueError("page must not be negative")
    start = page * PAGE_SIZE
    remaining = items[start:]
    if len(remaining) <= MAX_QUICK_REPLIES:
        return tuple(remaining)
    more = QuickReply(short_title(more_title), f"{more_payload}:{page + 1}")
    return (*remaining[:PAGE_SIZE], more)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # open links: (href, index in ``parts`` where the link text starts)
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or not self._links:
            return
        href, start = self._links.pop()
        label = "".join(self.parts[start:])
        if href and label.strip() != href.strip():
            self.parts.append(f" ({href})" if label.strip() else href)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Telegram HTML → plain text: tags dropped, entities unescaped, links as "text (url)"."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)
