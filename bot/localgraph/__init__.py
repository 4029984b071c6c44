"""Local Graph API (Messenger Platform) emulator for tests and the sandbox.

See :class:`LocalGraphAPI`.
"""

from bot.localgraph.models import GraphCall, SentMessage, Upload
from bot.localgraph.server import WINDOW, LocalGraphAPI
from bot.localgraph.validation import GraphError

__all__ = ["WINDOW", "GraphCall", "GraphError", "LocalGraphAPI", "SentMessage", "Upload"]
