"""Request parameter decoding: urlencoded, multipart and JSON bodies into typed values.

Bot API clients (aiogram included) send every non-string value as a JSON-encoded string in a
form field, and files either as multipart parts referenced by ``attach://<name>`` or directly as
the field itself. :func:`decode_fields` turns the raw strings back into Python values according
to the parameter's documented type so that handlers and :class:`~bot.localapi.models.ApiCall`
records see ``int``/``bool``/``dict`` values rather than strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import ClientResponse, MultipartReader, hdrs, web
from aiohttp.multipart import BodyPartReader
from multidict import CIMultiDictProxy

from bot.localapi.errors import ApiError

__all__ = [
    "Params",
    "RawBody",
    "Upload",
    "decode_fields",
    "read_request",
    "read_webhook_reply",
]

_INT_FIELDS = frozenset(
    {
        "cache_time",
        "direct_messages_topic_id",
        "duration",
        "heading",
        "height",
        "limit",
        "live_period",
        "max_connections",
        "message_id",
        "message_thread_id",
        "offset",
        "proximity_alert_radius",
        "reply_to_message_id",
        "timeout",
        "until_date",
        "user_id",
        "width",
    }
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_FIELDS = frozenset(
    {
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "for_channels",
        "has_spoiler",
        "is_big",
        "protect_content",
        "revoke",
        "show_alert",
        "show_caption_above_media",
    }
)
_JSON_FIELDS = frozenset(
    {
        "allowed_updates",
        "button",
        "caption_entities",
        "commands",
        "entities",
        "errors",
        "explanation_entities",
        "input_message_content",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "options",
        "permissions",
        "prices",
        "reaction",
        "reply_markup",
        "reply_parameters",
        "results",
        "rights",
        "scope",
        "shipping_options",
    }
)
_CHAT_ID_FIELDS = frozenset({"chat_id", "from_chat_id"})
_JSON_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str | None = None


@dataclass
class RawBody:
    """Undecoded request parameters: field name to string (or JSON value) plus file parts."""

    fields: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# reading bodies
# --------------------------------------------------------------------------------------------


async def _read_multipart(reader: MultipartReader) -> RawBody:
    body = RawBody()
    while True:
        part = await reader.next()
        if part is None:
            return body
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read(decode=True)
        if part.filename is not None:
            content_type = part.headers.get(hdrs.CONTENT_TYPE)
            body.uploads[part.name] = Upload(part.filename, bytes(data), content_type)
        else:
            body.fields[part.name] = data.decode(part.get_charset(default="utf-8"))


def _parse_simple_body(content_type: str, raw: bytes) -> RawBody:
    if not raw.strip():
        return RawBody()
    if content_type == "application/json":
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise ApiError.bad_request("can't parse JSON object") from exc
        if not isinstance(payload, dict):
            raise ApiError.bad_request("JSON object expected")
        return RawBody(fields=dict(payload))
    if content_type == "application/x-www-form-urlencoded":
        text = raw.decode("utf-8", errors="replace")
        return RawBody(fields=dict(parse_qsl(text, keep_blank_values=True)))
    return RawBody()


async def read_request(request: web.Request) -> RawBody:
    """Read the query string and the body of a Bot API request (any of the three encodings)."""
    body = RawBody(fields=dict(request.query))
    if request.can_read_body:
        if request.content_type.startswith("multipart/"):
            parsed = await _read_multipart(await request.multipart())
        else:
            parsed = _parse_simple_body(request.content_type, await request.read())
        body.fields.update(parsed.fields)
        body.uploads.update(parsed.uploads)
    return body


async def read_webhook_reply(response: ClientResponse) -> RawBody:
    """Read a webhook response body, which may carry a Bot API call (Telegram executes it)."""
    if response.content_type.startswith("multipart/"):
        headers: CIMultiDictProxy[str] = response.headers
        return await _read_multipart(MultipartReader(headers, response.content))
    return _parse_simple_body(response.content_type, await response.read())


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------


def _decode_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise ApiError.bad_request(f"invalid {name} specified")


def _decode_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise ApiError.bad_request(f"invalid {name} specified") from exc


def _decode_float(name: str, value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError as exc:
        raise ApiError.bad_request(f"invalid {name} specified") from exc


def _decode_json(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        detail = _JSON_ERRORS.get(name, f"can't parse {name} JSON object")
        raise ApiError.bad_request(detail) from exc


def _decode_chat_id(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def decode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Decode raw field values by parameter name (ints, floats, booleans, JSON, chat ids).

    Fields whose names are not known to be typed keep their value unchanged, so free text such
    as ``text="[1, 2]"`` is never mistaken for JSON.
    """
    decoded: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name in _CHAT_ID_FIELDS:
            decoded[name] = _decode_chat_id(value)
        elif name in _INT_FIELDS:
            decoded[name] = _decode_int(name, value)
        elif name in _FLOAT_FIELDS:
            decoded[name] = _decode_float(name, value)
        elif name in _BOOL_FIELDS:
            decoded[name] = _decode_bool(name, value)
        elif name in _JSON_FIELDS:
            decoded[name] = _decode_json(name, value)
        else:
            decoded[name] = value
    return decoded


class Params:
    """Decoded parameters of one Bot API call with typed accessors.

    Accessors raise :class:`ApiError` (400) when a value has the wrong type, so handlers can rely
    on the returned Python type.
    """

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None):
        self.values: dict[str, Any] = dict(values)
        self.uploads: dict[str, Upload] = dict(uploads or {})

    @classmethod
    def from_raw(cls, raw: RawBody) -> Params:
        """Decode a :class:`RawBody` (the ``method`` field of webhook replies is kept as is)."""
        return cls(decode_fields(raw.fields), raw.uploads)

    def __contains__(self, name: object) -> bool:
        return name in self.values or name in self.uploads

    def get_str(self, name: str) -> str | None:
        """A string parameter; numbers sent in JSON bodies are converted to text."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if not isinstance(value, str):
            raise ApiError.bad_request(f"invalid {name} specified")
        return value

    def get_int(self, name: str) -> int | None:
        """An integer parameter."""
        value = self.values.get(name)
        return None if value is None else _decode_int(name, value)

    def get_float(self, name: str) -> float | None:
        """A floating point parameter."""
        value = self.values.get(name)
        return None if value is None else _decode_float(name, value)

    def get_bool(self, name: str) -> bool:
        """A boolean parameter (absent = ``False``)."""
        value = self.values.get(name)
        return False if value is None else _decode_bool(name, value)

    def get_object(self, name: str) -> dict[str, Any] | None:
        """A JSON object parameter."""
        value = _decode_json(name, self.values.get(name))
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ApiError.bad_request(_JSON_ERRORS.get(name, f"can't parse {name} JSON object"))
        return value

    def get_array(self, name: str) -> list[Any] | None:
        """A JSON array parameter."""
        value = _decode_json(name, self.values.get(name))
        if value is None:
            return None
        if not isinstance(value, list):
            raise ApiError.bad_request(_JSON_ERRORS.get(name, f"can't parse {name} JSON object"))
        return value

    def get_chat_id(self, name: str = "chat_id") -> int | str | None:
        """A chat identifier: an integer id or an ``@username`` string."""
        value = self.values.get(name)
        return None if value is None else _decode_chat_id(value)

    def get_file(self, name: str) -> Upload | str | None:
        """A file parameter: an upload (direct or ``attach://``) or a file_id/URL string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ApiError.bad_request(f"invalid {name} specified")
        if value.startswith("attach://"):
            attached = self.uploads.get(value.removeprefix("attach://"))
            if attached is None:
                raise ApiError.bad_request(f"file {value} not found in the request")
            return attached
        return value

    def public(self) -> dict[str, Any]:
        """Parameters for inspection: uploads replaced by ``{"filename", "size"}`` summaries."""
        result = dict(self.values)
        for name, upload in self.uploads.items():
            summary = {"filename": upload.filename, "size": len(upload.content)}
            references = [k for k, v in result.items() if v == f"attach://{name}"]
            for key in references:
                result[key] = summary
            if not references:
                result[name] = summary
        return result
