"""Local Telegram Bot API emulator for end-to-end tests, benchmarks and the demo sandbox.

See :class:`LocalBotAPI`.
"""

from bot.localapi.errors import ApiError
from bot.localapi.models import ApiCall, Stats, StoredFile, StoredMessage, WebhookConfig
from bot.localapi.server import SECRET_TOKEN_HEADER, LocalBotAPI

__all__ = [
    "SECRET_TOKEN_HEADER",
    "ApiCall",
    "ApiError",
    "LocalBotAPI",
    "Stats",
    "StoredFile",
    "StoredMessage",
    "WebhookConfig",
]
