"""Small helpers for answering residents without tracebacks reaching them."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, FSInputFile, InlineKeyboardMarkup, Message

from bot.services.poll_export import ExportFormat

logger = logging.getLogger(__name__)


async def replace_prompt(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Show the outcome in the message whose button was pressed (or a new one if too old)."""
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=reply_markup)
            return
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return
            logger.info("could not edit message %s: %s", message.message_id, exc.message)
    if message is not None:
        await query.bot.send_message(message.chat.id, text, reply_markup=reply_markup)  # type: ignore[union-attr]


async def edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Change (or, with None, remove) the buttons of the message whose button was pressed."""
    message = query.message
    if not isinstance(message, Message):
        return
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            logger.info("could not edit message %s: %s", message.message_id, exc.message)


async def send_to_chat(query: CallbackQuery, **kwargs: Any) -> None:
    """Send a new message into the chat where the button was pressed."""
    if query.message is not None:
        await query.bot.send_message(query.message.chat.id, **kwargs)  # type: ignore[union-attr]


async def answer_exports(
    message: Message,
    filename: Callable[[ExportFormat], str],
    write: Callable[[ExportFormat, Path], Awaitable[int]],
    caption: Callable[[int], str],
) -> int:
    """Write an export as CSV and as XLSX into a temporary folder and send both files, each
    with the caption made from the number of rows; returns that number."""
    with tempfile.TemporaryDirectory(prefix="dalyvauk-export-") as folder:
        files = []
        count = 0
        for fmt in (ExportFormat.CSV, ExportFormat.XLSX):
            path = Path(folder) / filename(fmt)
            count = await write(fmt, path)
            files.append(path)
        text = caption(count)
        for path in files:
            await message.answer_document(FSInputFile(path, filename=path.name), caption=text)
    return count
