"""``X-Hub-Signature-256`` of Messenger webhook POSTs.

Meta signs the raw request body with the app secret: ``sha256=<hex HMAC-SHA256>``. The signature
is computed over the exact bytes received, never over re-serialised JSON.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send with ``body``: ``"sha256=<hex>"``."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the right signature of ``body``; missing or malformed → False."""
    if not header or not app_secret:
        return False
    header = header.strip()
    if not header.startswith(_PREFIX):
        return False
    given = header[len(_PREFIX) :].lower()
    if len(given) != 64 or any(c not in "0123456789abcdef" for c in given):
        return False
    return hmac.compare_digest(sign(app_secret, body), _PREFIX + given)
