"""Organizers import a survey or events by sending the file to the bot in a private chat.

A .yaml/.yml/.csv document from an organizer is downloaded (at most 256 KB) and sent by its
content to the events importer (a CSV file, or YAML with a top-level ``events:``) or the
survey importer, then checked and created in the update's transaction: an invalid file is
answered with every problem and its line number, and nothing is saved. Such a file from
anyone else gets the organizers-only refusal; another document from an organizer gets a
hint about the formats.
"""

from __future__ import annotations

import html
import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.types import Document, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import event_reports
from bot.channels.telegram import survey_import as view
from bot.channels.telegram.filters import is_organizer
from bot.config import Settings
from bot.services import event_import, municipalities, survey_import
from bot.services.event_import import CSV_SUFFIXES, EventImportError
from bot.services.survey_import import MAX_FILE_BYTES, YAML_SUFFIXES, SurveyImportError
from models import utcnow

logger = logging.getLogger(__name__)


def is_import_file(document: Document) -> bool:
    return (document.file_name or "").lower().endswith((*YAML_SUFFIXES, *CSV_SUFFIXES))


async def upload(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    document = message.document
    user = message.from_user
    if document is None or user is None:
        return
    if not is_import_file(document):
        await message.answer(f"{view.not_yaml_hint()}\n\n{event_reports.events_file_hint()}")
        return
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await message.answer(view.too_large())
        return
    downloaded = await bot.download(document)
    if downloaded is None:  # aiogram returns None only when given a destination
        return
    content = downloaded.read(MAX_FILE_BYTES + 1)
    now = utcnow()
    filename = document.file_name or ""
    if event_import.is_events_file(content, filename):
        await _import_events(message, session, settings, i18n, content, filename, user.id)
        return
    try:
        poll = await survey_import.import_survey(
            session, content, created_by=user.id, tz=settings.tz, now=now
        )
    except SurveyImportError as error:
        logger.info("survey file from %s refused: %d problems", user.id, len(error.issues))
        await message.answer(view.error_report(error))
        return
    logger.info("survey %s imported by %s", poll.id, user.id)
    places = await municipalities.list_by_ids(
        session, poll.audience.get("municipality_ids", []), i18n.current_locale
    )
    text = view.summary(poll, places, settings.tz, i18n.current_locale, now)
    await message.answer(html.escape(text, quote=False))


async def _import_events(
    message: Message,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    content: bytes,
    filename: str,
    user_id: int,
) -> None:
    try:
        created = await event_import.import_events(
            session,
            content,
            filename=filename,
            created_by=user_id,
            tz=settings.tz,
            offer_hours=settings.event.offer_hours,
            reminder_offsets=settings.event.reminder_offsets,
        )
    except EventImportError as error:
        logger.info("events file from %s refused: %d problems", user_id, len(error.issues))
        await message.answer(event_reports.error_report(error))
        return
    logger.info("%d events imported by %s", len(created), user_id)
    text = event_reports.import_summary(created, settings.tz, i18n.current_locale)
    await message.answer(html.escape(text, quote=False))


def _import_document(message: Message) -> bool:
    return message.document is not None and is_import_file(message.document)


async def refuse(message: Message) -> None:
    await message.answer(_("Sorry, only organizers can do this."))


def create_router() -> Router:
    router = Router(name="survey_upload")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    # Organizers: any document (a hint unless it is YAML or CSV); others: only such files
    # are refused here, other documents go on to the fallback.
    router.message.register(upload, F.document, is_organizer)
    router.message.register(refuse, _import_document)
    return router
