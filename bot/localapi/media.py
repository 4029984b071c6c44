"""Small media helpers: sample files for simulated users and image size detection."""

from __future__ import annotations

import mimetypes
import struct
import zlib

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "guess_mime_type",
    "image_mime_type",
    "image_size",
    "sample_png",
    "sample_voice",
    "sample_webp",
]

#: Reported for photos whose format is not recognised.
DEFAULT_IMAGE_SIZE = (512, 512)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def sample_png(width: int = 320, height: int = 240) -> bytes:
    """A valid, plain white RGB PNG image of the given size."""
    row = b"\x00" + b"\xff\xff\xff" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(row * height))
        + _png_chunk(b"IEND", b"")
    )


def sample_voice() -> bytes:
    """A stand-in OGG/Opus voice note (header bytes only; not playable audio)."""
    return b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"


def sample_webp() -> bytes:
    """A stand-in WEBP sticker (RIFF header only)."""
    return b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11"


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in _JPEG_SOF_MARKERS:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (segment_length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + int(segment_length)
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of a PNG, JPEG or GIF image; :data:`DEFAULT_IMAGE_SIZE` otherwise."""
    if data.startswith(_PNG_SIGNATURE) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        size = _jpeg_size(data)
        if size is not None:
            return size
    return DEFAULT_IMAGE_SIZE


def image_mime_type(data: bytes) -> str:
    """MIME type of a PNG or GIF image; ``image/jpeg`` (Telegram's photo format) otherwise."""
    if data.startswith(_PNG_SIGNATURE):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/jpeg"


def guess_mime_type(filename: str | None, declared: str | None = None) -> str:
    """MIME type from the file name, else the declared part type, else octet-stream."""
    if filename:
        guessed, _ = mimetypes.guess_type(filename)
        if guessed:
            return guessed
    if declared and declared != "application/octet-stream":
        return declared
    return declared or "application/octet-stream"
