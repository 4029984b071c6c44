"""Bot API error values raised inside the emulator and rendered as Telegram error replies."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

__all__ = ["ApiError", "default_description"]

_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def default_description(error_code: int, retry_after: int | None = None) -> str:
    """Return the description Telegram uses for ``error_code`` when nothing more specific applies.

    For 429 the description carries the ``retry_after`` value, as Telegram's does.
    """
    if error_code == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after if retry_after is not None else 1}"
    if error_code in _DEFAULT_DESCRIPTIONS:
        return _DEFAULT_DESCRIPTIONS[error_code]
    try:
        return HTTPStatus(error_code).phrase
    except ValueError:
        return f"Error {error_code}"


class ApiError(Exception):
    """A Bot API failure: becomes ``{"ok": false, "error_code": ..., "description": ...}``.

    ``parameters`` is Telegram's ``ResponseParameters`` object (``retry_after``,
    ``migrate_to_chat_id``), included in the reply only when given.
    """

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = int(error_code)
        self.description = description
        self.parameters = parameters

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        """``400 Bad Request: <detail>``."""
        return cls(HTTPStatus.BAD_REQUEST, f"Bad Request: {detail}")

    @classmethod
    def forbidden(cls, detail: str) -> ApiError:
        """``403 Forbidden: <detail>``."""
        return cls(HTTPStatus.FORBIDDEN, f"Forbidden: {detail}")

    @classmethod
    def retry_after(cls, seconds: int) -> ApiError:
        """``429 Too Many Requests`` carrying ``parameters.retry_after``."""
        return cls(
            HTTPStatus.TOO_MANY_REQUESTS,
            default_description(HTTPStatus.TOO_MANY_REQUESTS, seconds),
            parameters={"retry_after": seconds},
        )

    def to_payload(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            payload["parameters"] = dict(self.parameters)
        return payload

    def __repr__(self) -> str:
        return f"ApiError({self.error_code}, {self.description!r})"
