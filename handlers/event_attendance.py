"""Organizers count who came, export an event's registrations and read the report.

``/attendance ID``: the event's registered residents as buttons (check-in code and the name
they agreed to share, ✓ once they came; a press marks, another press undoes; 30 per page).
While that screen is open (until "Done" or another command's conversation) a check-in code
typed or pasted from a QR scan is marked too. ``/event_export ID``: the registrations as CSV
and XLSX files. ``/report [FROM [TO]]``: participants by event kind and municipality against
the programme's targets. Organizers only, in a private chat; organizers of one deployment
share their events, as they share polls.
"""

from __future__ import annotations

import contextlib
import logging
import re

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import event_reports as view
from bot.channels.telegram.event_callbacks import (
    AttendanceCb,
    AttendanceDoneCb,
    AttendancePageCb,
)
from bot.channels.telegram.filters import is_organizer, typed_text
from bot.channels.telegram.replies import answer_exports, replace_prompt
from bot.config import Settings
from bot.services import event_attendance, event_export, events
from bot.services.event_attendance import AttendanceEntry, AttendanceRefusal
from bot.services.event_registrations import normalize_code
from models import Event, Registration

logger = logging.getLogger(__name__)

EVENT_KEY = "attendance_event"
MESSAGE_KEY = "attendance_message"
PAGE_KEY = "attendance_page"
_CODE_IN_LINK = re.compile(r"[=_/:#]")


class Attendance(StatesGroup):
    open = State()  # the attendance screen is shown: typed text is a check-in code


async def _event(message: Message, command: CommandObject, session: AsyncSession) -> Event | None:
    """The event named in the command, or None after telling the organizer why not."""
    argument = (command.args or "").strip().removeprefix("#").removeprefix("Nr.").strip()
    if not argument.isdigit() or len(argument) > 9:
        await message.answer(
            _("Please add the event's number, for example: /{command} 12").format(
                command=command.command
            )
        )
        return None
    event = await events.get_event(session, int(argument))
    if event is None:
        await message.answer(
            _("There is no event no. {id}. Please check the number.").format(id=int(argument))
        )
    return event


def _page_of(entries: list[AttendanceEntry], registration_id: int) -> int:
    for index, entry in enumerate(entries):
        if entry.registration_id == registration_id:
            return index // view.PAGE_SIZE
    return 0


# -- the attendance screen ---------------------------------------------------------------


async def show_attendance(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    event = await _event(message, command, session)
    if event is None:
        return
    entries = await event_attendance.attendance_list(session, event.id)
    locale = i18n.current_locale
    sent = await message.answer(
        view.attendance_text(event, entries, 0, settings.tz, locale),
        reply_markup=view.attendance_keyboard(event, entries, 0) if entries else None,
    )
    if entries:
        await state.set_state(Attendance.open)
        await state.update_data({EVENT_KEY: event.id, MESSAGE_KEY: sent.message_id, PAGE_KEY: 0})


async def _refresh(
    bot: Bot,
    chat_id: int,
    message_id: int,
    event: Event,
    entries: list[AttendanceEntry],
    page: int,
    settings: Settings,
    locale: str,
) -> None:
    """Show the list again in the screen's message (unchanged: nothing to do)."""
    with contextlib.suppress(TelegramBadRequest):  # not modified, or too old to edit
        await bot.edit_message_text(
            view.attendance_text(event, entries, page, settings.tz, locale),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=view.attendance_keyboard(event, entries, page),
        )


async def toggled(
    query: CallbackQuery,
    callback_data: AttendanceCb,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    registration = await session.get(Registration, callback_data.registration)
    if registration is None or not isinstance(query.message, Message):
        await query.answer(_("This button is no longer active."))
        return
    event_id = registration.event_id
    if callback_data.on:
        result = await event_attendance.mark_attended_by_id(
            session, event_id, registration.id, by=query.from_user.id
        )
    else:
        result = await event_attendance.unmark_attended(
            session, event_id, registration.id, by=query.from_user.id
        )
    await query.answer(view.toggle_answer(result))
    event = await events.get_event(session, event_id)
    assert event is not None
    entries = await event_attendance.attendance_list(session, event_id)
    page = _page_of(entries, registration.id)
    await _show_page(query.message, state, event, entries, page, settings, i18n)


async def _show_page(
    screen: Message,
    state: FSMContext,
    event: Event,
    entries: list[AttendanceEntry],
    page: int,
    settings: Settings,
    i18n: I18n,
) -> None:
    """Show ``page`` in the screen whose button was pressed; typed codes go to its event."""
    bot = screen.bot
    assert bot is not None
    locale = i18n.current_locale
    await _refresh(bot, screen.chat.id, screen.message_id, event, entries, page, settings, locale)
    await state.set_state(Attendance.open)
    await state.update_data({EVENT_KEY: event.id, MESSAGE_KEY: screen.message_id, PAGE_KEY: page})


async def page_shown(
    query: CallbackQuery,
    callback_data: AttendancePageCb,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    event = await events.get_event(session, callback_data.event)
    if event is None or not isinstance(query.message, Message):
        await query.answer(_("This button is no longer active."))
        return
    await query.answer()
    entries = await event_attendance.attendance_list(session, event.id)
    page = min(max(callback_data.page, 0), view.page_count(len(entries)) - 1)
    await _show_page(query.message, state, event, entries, page, settings, i18n)


async def closed(
    query: CallbackQuery,
    callback_data: AttendanceDoneCb,
    session: AsyncSession,
    state: FSMContext,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    if data.get(EVENT_KEY) == callback_data.event:
        await _close(state)
    await query.answer()
    event = await events.get_event(session, callback_data.event)
    if event is None:
        return
    entries = await event_attendance.attendance_list(session, event.id)
    await replace_prompt(query, view.attendance_closed(event, entries, i18n.current_locale))


async def _close(state: FSMContext) -> None:
    data = await state.get_data()
    for key in (EVENT_KEY, MESSAGE_KEY, PAGE_KEY):
        data.pop(key, None)
    await state.set_state(None)
    await state.set_data(data)


async def cancel_checking(message: Message, state: FSMContext) -> None:
    await _close(state)
    await message.answer(_("Attendance marking is closed."))


def code_of(text: str) -> str:
    """The check-in code in what was typed, or in a pasted QR scan (``…start=chk_ACEF12``)."""
    return normalize_code(_CODE_IN_LINK.split(text.strip())[-1])[:32]


async def code_typed(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    event_id = data.get(EVENT_KEY)
    user = message.from_user
    if not isinstance(event_id, int) or message.text is None or user is None:
        await _close(state)
        return
    code = code_of(message.text)
    result = await event_attendance.mark_attended(session, event_id, code, by=user.id)
    other = None
    if result.refusal is AttendanceRefusal.OTHER_EVENT and result.registration is not None:
        other = await events.get_event(session, result.registration.event_id)
    locale = i18n.current_locale
    await message.answer(view.code_result(result, code, other, settings.tz, locale))
    event = await events.get_event(session, event_id)
    screen = data.get(MESSAGE_KEY)
    if result.ok and event is not None and isinstance(screen, int):
        entries = await event_attendance.attendance_list(session, event_id)
        page = data.get(PAGE_KEY, 0)
        if result.registration is not None:
            page = _page_of(entries, result.registration.id)
        await _refresh(bot, message.chat.id, screen, event, entries, page, settings, locale)
        await state.update_data({PAGE_KEY: page})


# -- exports and the report ----------------------------------------------------------------


async def export_registrations(
    message: Message, command: CommandObject, session: AsyncSession, i18n: I18n
) -> None:
    event = await _event(message, command, session)
    if event is None:
        return
    count = await answer_exports(
        message,
        lambda fmt: event_export.export_filename(event.id, fmt),
        lambda fmt, path: event_export.write_export(session, event, fmt, path),
        lambda count: view.export_caption(event, count, i18n.current_locale),
    )
    logger.info("event %s exported for %s: %s rows", event.id, message.chat.id, count)


async def show_report(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    words = (command.args or "").split()
    try:
        since, until = view.report_period(*words[:2], tz=settings.tz)
    except ValueError:
        await message.answer(
            _(
                "I did not understand the dates. Send /report for all events, or give the "
                "days like this: /report 2026-01-01 2026-12-31"
            )
        )
        return
    report = await event_attendance.report(
        session,
        since=since,
        until=until,
        targets=event_attendance.targets_from(settings.event.targets),
    )
    await message.answer(view.report_text(report, settings.tz, i18n.current_locale))


async def refuse(message: Message) -> None:
    await message.answer(_("Sorry, only organizers can do this."))


async def refuse_button(query: CallbackQuery) -> None:
    await query.answer(_("Sorry, only organizers can do this."))


def create_router() -> Router:
    router = Router(name="event_attendance")
    router.message.filter(F.chat.type == "private")
    msg = router.message.register
    msg(show_attendance, Command("attendance"), is_organizer)
    msg(export_registrations, Command("event_export"), is_organizer)
    msg(show_report, Command("report"), is_organizer)
    msg(refuse, Command("attendance", "event_export", "report"))
    msg(cancel_checking, Command("cancel"), StateFilter(Attendance.open), is_organizer)
    msg(code_typed, StateFilter(Attendance.open), typed_text, is_organizer)
    cb = router.callback_query.register
    cb(toggled, AttendanceCb.filter(), is_organizer)
    cb(page_shown, AttendancePageCb.filter(), is_organizer)
    cb(closed, AttendanceDoneCb.filter(), is_organizer)
    cb(refuse_button, AttendanceCb.filter())
    cb(refuse_button, AttendancePageCb.filter())
    cb(refuse_button, AttendanceDoneCb.filter())
    return router
