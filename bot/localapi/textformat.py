"""Telegram formatted-text parsing: HTML, MarkdownV2 and legacy Markdown to text plus entities.

The parsers follow the Bot API "Formatting options" rules closely enough to catch the mistakes
bots make in production (unknown or unclosed HTML tags, unescaped MarkdownV2 characters) and to
measure length limits the way Telegram does: after entity parsing, in Unicode code points.
Entity offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from bot.localapi.errors import ApiError

__all__ = [
    "FormattedText",
    "parse_formatted_text",
    "utf16_len",
]

#: Simple HTML tags and the entity type each one produces.
_HTML_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_SPECIAL_TAGS = frozenset({"span", "a", "tg-emoji"})

#: Characters that must be escaped with a backslash outside entities in MarkdownV2.
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_LEGACY_MD_SPECIAL = frozenset("_*`[")

_MDV2_NAMES: dict[str, str] = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of Bot API entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, char_index: int) -> int:
    return len(source[:char_index].encode("utf-8"))


def _parse_error(detail: str) -> ApiError:
    return ApiError.bad_request(f"can't parse entities: {detail}")


@dataclass(frozen=True)
class FormattedText:
    """Plain text (what the user sees) and its entities in Bot API shape."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def parse_formatted_text(
    text: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None = None,
) -> FormattedText:
    """Parse ``text`` like Telegram does for ``text``/``caption`` parameters.

    ``parse_mode`` (case-insensitive ``HTML``, ``MarkdownV2`` or ``Markdown``) wins over explicit
    ``entities``, as in the reference Bot API server. Raises :class:`ApiError` (400) with
    Telegram's ``can't parse entities`` wording when the markup is invalid.
    """
    mode = (parse_mode or "").strip().lower()
    if mode in ("", "none"):
        return FormattedText(text, _sorted(_checked_entities(entities or [])))
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _MarkdownV2Parser(text).parse()
    if mode == "markdown":
        return _parse_legacy_markdown(text)
    raise ApiError.bad_request("unsupported parse_mode")


def _sorted(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _checked_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for entity in entities:
        if not (
            isinstance(entity, dict)
            and isinstance(entity.get("type"), str)
            and isinstance(entity.get("offset"), int)
            and isinstance(entity.get("length"), int)
        ):
            raise ApiError.bad_request("can't parse entities JSON object")
    return [dict(entity) for entity in entities if entity["length"] > 0]


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


@dataclass
class _OpenTag:
    tag: str
    start: int
    entity: dict[str, Any] | None
    absorbed: bool = False


class _TelegramHTMLParser(HTMLParser):
    """``html.parser`` driven parser enforcing Telegram's supported tag set."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
        self._parts: list[str] = []
        self._pos = 0
        self._stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    # -- helpers --------------------------------------------------------------------------
    def _here(self) -> int:
        line, column = self.getpos()
        return _byte_offset(self._source, self._line_starts[line - 1] + column)

    def result(self) -> FormattedText:
        if self._stack:
            tag = self._stack[-1].tag
            raise _parse_error(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return FormattedText("".join(self._parts), _sorted(self.entities))

    def _entity_for(self, tag: str, attrs: dict[str, str | None]) -> dict[str, Any] | None:
        if tag in _HTML_SIMPLE_TAGS:
            kind = _HTML_SIMPLE_TAGS[tag]
            if kind == "blockquote" and "expandable" in attrs:
                kind = "expandable_blockquote"
            return {"type": kind}
        if tag == "span":
            if attrs.get("class") != "tg-spoiler":
                raise _parse_error(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {self._here()}'
                )
            return {"type": "spoiler"}
        if tag == "a":
            href = (attrs.get("href") or "").strip()
            if not href:
                return None
            if href.startswith("tg://user?id="):
                user_id = href.removeprefix("tg://user?id=")
                if user_id.isdigit():
                    return {
                        "type": "text_mention",
                        "user": {"id": int(user_id), "is_bot": False, "first_name": "User"},
                    }
            return {"type": "text_link", "url": href}
        # tg-emoji
        emoji_id = attrs.get("emoji-id")
        if not emoji_id:
            raise _parse_error(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {self._here()}'
            )
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}

    # -- HTMLParser callbacks -------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_SIMPLE_TAGS and tag not in _HTML_SPECIAL_TAGS:
            raise _parse_error(f'Unsupported start tag "{tag}" at byte offset {self._here()}')
        attributes = dict(attrs)
        entity = self._entity_for(tag, attributes)
        open_tag = _OpenTag(tag=tag, start=self._pos, entity=entity)
        language = attributes.get("class") or ""
        if (
            tag == "code"
            and self._stack
            and self._stack[-1].tag == "pre"
            and self._stack[-1].entity is not None
            and language.startswith("language-")
        ):
            self._stack[-1].entity["language"] = language.removeprefix("language-")
            open_tag.absorbed = True
        self._stack.append(open_tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            raise _parse_error(f"Unexpected end tag at byte offset {self._here()}")
        top = self._stack[-1]
        if top.tag != tag:
            raise _parse_error(
                f'Unmatched end tag at byte offset {self._here()}, expected "</{top.tag}>", '
                f'found "</{tag}>"'
            )
        self._stack.pop()
        length = self._pos - top.start
        if top.entity is not None and not top.absorbed and length > 0:
            self.entities.append({**top.entity, "offset": top.start, "length": length})

    def handle_data(self, data: str) -> None:
        self._parts.append(data)
        self._pos += utf16_len(data)


def _parse_html(source: str) -> FormattedText:
    parser = _TelegramHTMLParser(source)
    parser.feed(source)
    parser.close()
    return parser.result()


# --------------------------------------------------------------------------------------------
# MarkdownV2
# --------------------------------------------------------------------------------------------


@dataclass
class _MdOpen:
    kind: str
    start: int
    source_index: int
    extra: dict[str, Any] = field(default_factory=dict)


class _MarkdownV2Parser:
    """A close approximation of the reference server's MarkdownV2 parser."""

    def __init__(self, source: str) -> None:
        self._src = source
        self._i = 0
        self._parts: list[str] = []
        self._pos = 0
        self._stack: list[_MdOpen] = []
        self._entities: list[dict[str, Any]] = []
        self._quote_start: int | None = None
        self._quote_expandable = False

    # -- output helpers ---------------------------------------------------------------------
    def _emit(self, text: str) -> None:
        self._parts.append(text)
        self._pos += utf16_len(text)

    def _add(self, entity: dict[str, Any], start: int) -> None:
        if self._pos > start:
            self._entities.append({**entity, "offset": start, "length": self._pos - start})

    def _peek(self, text: str) -> bool:
        return self._src.startswith(text, self._i)

    def _in_code(self) -> bool:
        return bool(self._stack) and self._stack[-1].kind in ("code", "pre")

    def _close_quote(self, end: int) -> None:
        if self._quote_start is not None:
            kind = "expandable_blockquote" if self._quote_expandable else "blockquote"
            if end > self._quote_start:
                self._entities.append(
                    {"type": kind, "offset": self._quote_start, "length": end - self._quote_start}
                )
        self._quote_start = None
        self._quote_expandable = False

    # -- main loop --------------------------------------------------------------------------
    def parse(self) -> FormattedText:
        src = self._src
        at_line_start = True
        while self._i < len(src):
            char = src[self._i]
            if at_line_start and not self._in_code():
                at_line_start = False
                if self._line_start():
                    continue
            at_line_start = char == "\n"
            if char == "\\" and self._i + 1 < len(src) and 0 < ord(src[self._i + 1]) <= 126:
                self._emit(src[self._i + 1])
                self._i += 2
                continue
            if self._in_code():
                self._code_char(char)
                continue
            if char not in _MDV2_RESERVED:
                self._emit(char)
                self._i += 1
                continue
            if self._quote_expandable and self._peek("||") and self._at_line_end(self._i + 2):
                innermost = self._stack[-1].kind if self._stack else None
                if innermost != "spoiler":
                    self._i += 2
                    self._close_quote(self._pos)
                    continue
            if not self._try_close(char):
                self._open(char)
        if self._stack:
            top = self._stack[-1]
            name = _MDV2_NAMES.get(top.kind, top.kind)
            offset = _byte_offset(src, top.source_index)
            raise _parse_error(f"Can't find end of {name} entity at byte offset {offset}")
        self._close_quote(self._pos)
        return FormattedText("".join(self._parts), _sorted(self._entities))

    def _at_line_end(self, index: int) -> bool:
        return index >= len(self._src) or self._src[index] == "\n"

    def _line_start(self) -> bool:
        """Handle ``>`` / ``**>`` at the beginning of a line; True when characters were consumed."""
        if self._peek("**>"):
            if self._quote_start is None:
                self._quote_start = self._pos
            self._quote_expandable = True
            self._i += 3
            return True
        if self._peek(">"):
            if self._quote_start is None:
                self._quote_start = self._pos
            self._i += 1
            return True
        if self._quote_start is not None:
            # the quote ended on the previous line; do not include its trailing newline
            self._close_quote(self._pos - 1)
        return False

    def _code_char(self, char: str) -> None:
        top = self._stack[-1]
        if top.kind == "pre" and self._peek("```"):
            self._stack.pop()
            self._i += 3
            self._add({"type": "pre", **top.extra}, top.start)
        elif top.kind == "code" and char == "`":
            self._stack.pop()
            self._i += 1
            self._add({"type": "code"}, top.start)
        else:
            self._emit(char)
            self._i += 1

    def _try_close(self, char: str) -> bool:
        if not self._stack:
            return False
        top = self._stack[-1]
        markers = {
            "bold": "*",
            "italic": "_",
            "underline": "__",
            "strikethrough": "~",
            "spoiler": "||",
            "text_link": "]",
            "custom_emoji": "]",
        }
        marker = markers.get(top.kind)
        if marker is None or not self._peek(marker):
            return False
        self._stack.pop()
        self._i += len(marker)
        if top.kind in ("text_link", "custom_emoji"):
            url = self._read_url()
            if top.kind == "custom_emoji":
                emoji_id = url.removeprefix("tg://emoji?id=")
                if not url.startswith("tg://emoji?id=") or not emoji_id:
                    raise _parse_error("Custom emoji entity must contain a tg://emoji URL")
                self._add({"type": "custom_emoji", "custom_emoji_id": emoji_id}, top.start)
            elif url.startswith("tg://user?id=") and url.removeprefix("tg://user?id=").isdigit():
                user = {
                    "id": int(url.removeprefix("tg://user?id=")),
                    "is_bot": False,
                    "first_name": "User",
                }
                self._add({"type": "text_mention", "user": user}, top.start)
            elif url:
                self._add({"type": "text_link", "url": url}, top.start)
            return True
        self._add({"type": top.kind}, top.start)
        return True

    def _read_url(self) -> str:
        if not self._peek("("):
            return ""
        start_index = self._i
        self._i += 1
        chars: list[str] = []
        while self._i < len(self._src):
            char = self._src[self._i]
            if char == "\\" and self._i + 1 < len(self._src):
                chars.append(self._src[self._i + 1])
                self._i += 2
                continue
            if char == ")":
                self._i += 1
                return "".join(chars).strip()
            chars.append(char)
            self._i += 1
        offset = _byte_offset(self._src, start_index)
        raise _parse_error(f"Can't find end of a URL at byte offset {offset}")

    def _open(self, char: str) -> None:
        start_index = self._i
        kind: str
        extra: dict[str, Any] = {}
        if char == "*":
            kind, size = "bold", 1
        elif char == "_":
            kind, size = ("underline", 2) if self._peek("__") else ("italic", 1)
        elif char == "~":
            kind, size = "strikethrough", 1
        elif char == "|" and self._peek("||"):
            kind, size = "spoiler", 2
        elif char == "[":
            kind, size = "text_link", 1
        elif char == "!" and self._peek("!["):
            kind, size = "custom_emoji", 2
        elif char == "`" and self._peek("```"):
            kind, size = "pre", 3
        elif char == "`":
            kind, size = "code", 1
        else:
            raise _parse_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        for open_entity in self._stack:
            if open_entity.kind == kind:
                offset = _byte_offset(self._src, start_index)
                raise _parse_error(f"Can't nest entities of the same type at byte offset {offset}")
        self._i += size
        if kind == "pre":
            newline = self._src.find("\n", self._i)
            if newline != -1:
                language = self._src[self._i : newline].strip()
                if language and " " not in language and "`" not in language:
                    extra["language"] = language
                    self._i = newline + 1
                elif not language:
                    self._i = newline + 1
        self._stack.append(
            _MdOpen(kind=kind, start=self._pos, source_index=start_index, extra=extra)
        )


# --------------------------------------------------------------------------------------------
# Legacy Markdown
# --------------------------------------------------------------------------------------------


def _parse_legacy_markdown(source: str) -> FormattedText:
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    i = 0

    def unclosed(index: int) -> ApiError:
        offset = _byte_offset(source, index)
        return _parse_error(f"Can't find end of the entity starting at byte offset {offset}")

    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and source[i + 1] in _LEGACY_MD_SPECIAL:
            parts.append(source[i + 1])
            pos += 1
            i += 2
            continue
        if char not in _LEGACY_MD_SPECIAL:
            parts.append(char)
            pos += utf16_len(char)
            i += 1
            continue
        if char == "[":
            close = source.find("]", i + 1)
            if close == -1:
                raise unclosed(i)
            inner = source[i + 1 : close]
            url = ""
            end = close + 1
            if source.startswith("(", end):
                url_end = source.find(")", end + 1)
                if url_end == -1:
                    raise unclosed(i)
                url = source[end + 1 : url_end].strip()
                end = url_end + 1
            entity: dict[str, Any] = {"type": "text_link", "url": url}
            kind_ok = bool(url)
        else:
            marker = "```" if source.startswith("```", i) else char
            close = source.find(marker, i + len(marker))
            if close == -1:
                raise unclosed(i)
            inner = source[i + len(marker) : close]
            end = close + len(marker)
            kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[marker]
            entity = {"type": kind}
            if kind == "pre" and "\n" in inner:
                first_line, rest = inner.split("\n", 1)
                if first_line and " " not in first_line:
                    entity["language"] = first_line
                    inner = rest
            kind_ok = True
        length = utf16_len(inner)
        if kind_ok and length:
            entities.append({**entity, "offset": pos, "length": length})
        parts.append(inner)
        pos += length
        i = end
    return FormattedText("".join(parts), _sorted(entities))
