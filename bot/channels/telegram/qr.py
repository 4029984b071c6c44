"""QR codes as PNG images (segno), for check-in codes and poster deep links."""

from __future__ import annotations

import io

import segno

# A module is this many pixels: a short code comes out about 300 px wide, which a phone
# camera reads from a screen or a printed poster.
SCALE = 10
BORDER = 4  # the quiet zone the QR standard asks for, in modules


def qr_png(text: str, *, scale: int = SCALE) -> bytes:
    """A PNG of ``text`` (a code or a URL) as a QR code, error correction level M."""
    if not text:
        raise ValueError("empty QR content")
    code = segno.make(text, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()
