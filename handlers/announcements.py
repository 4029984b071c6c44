"""Organizers announce: compose (text or a photo, an optional link button), choose who
receives it, preview it, send it now or schedule it; list and cancel their announcements.

Organizers only, in a private chat. Every button carries the draft's id, so a button of an
earlier draft (or a forged one) changes nothing; "Send now" is accepted only while the
conversation is at that step, and the step ends in the same transaction that creates the
broadcast, so a double tap creates one broadcast.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import announcing as view
from bot.channels.telegram.announcing import Draft
from bot.channels.telegram.audience_picker import AudienceCb
from bot.channels.telegram.callbacks import AnnounceCb, BroadcastCancelCb
from bot.channels.telegram.filters import is_organizer, typed_text
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.services import audiences, broadcasts
from bot.services.broadcasts import BroadcastError
from bot.services.quiet_hours import QuietHours
from handlers import audience_picker
from handlers.audience_picker import AudienceStep, Drafts
from models import MessageCategory, utcnow

logger = logging.getLogger(__name__)


class Compose(StatesGroup):
    content = State()
    button = State()  # with or without a link button
    button_text = State()
    button_url = State()
    audience = State()
    confirm = State()  # preview shown: send now, schedule or discard
    schedule = State()  # waiting for the date and time


DRAFTS = Drafts(Draft)
AUDIENCE = AudienceStep(view.AUDIENCE, DRAFTS, Compose.audience, MessageCategory.ANNOUNCEMENT)


async def _start_again(message: Message, state: FSMContext) -> None:
    """The conversation state lost its draft (it should not happen): say so, start over."""
    lost = _("Sorry, this announcement was lost. To start again, send /announce.")
    await DRAFTS.stop(message, state, lost)


def _wake_after_commit(session: AsyncSession, delivery: DeliveryEngine) -> None:
    """Wake the delivery engine once the broadcast is committed (before, it cannot see it)."""
    event.listen(session.sync_session, "after_commit", lambda _s: delivery.wake(), once=True)


def _quiet_hours_note(moment: datetime, settings: Settings, locale: str, *, now: bool) -> str:
    """When sending at ``moment`` waits for the quiet hours to end: a paragraph saying so."""
    quiet = QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, settings.tz)
    if not quiet.contains(moment):
        return ""
    return "\n\n" + view.quiet_hours_note(quiet.next_end(moment), settings.tz, locale, now=now)


async def _create(
    session: AsyncSession,
    draft: Draft,
    organizer_id: int,
    chat_id: int,
    send_at: datetime | None = None,
) -> None:
    """The draft's broadcast, sent now or at ``send_at``; its progress is reported in
    ``chat_id``. Raises BroadcastError."""
    await broadcasts.create(
        session,
        created_by=organizer_id,
        text=draft.text,
        audience=draft.audience,
        photo_file_id=draft.photo_file_id,
        button_text=draft.button_text,
        button_url=draft.button_url,
        send_at=send_at,
        progress_chat_id=chat_id,
    )


# -- step 1: the content ----------------------------------------------------------------


async def announce(message: Message, state: FSMContext) -> None:
    await DRAFTS.start(message, state, Compose.content, view.content_prompt())


async def refuse(message: Message) -> None:
    await message.answer(_("Sorry, only organizers can do this."))


async def cancel_composing(message: Message, state: FSMContext) -> None:
    await DRAFTS.stop(message, state, view.discarded_text())


async def content_received(message: Message, state: FSMContext, i18n: I18n) -> None:
    draft = await DRAFTS.get(state)
    if draft is None:
        await _start_again(message, state)
        return
    photo = message.photo[-1].file_id if message.photo else None
    text = message.html_text
    try:
        broadcasts.check_content(
            text, has_photo=photo is not None, button_text=None, button_url=None
        )
    except BroadcastError as error:
        await message.answer(view.content_problem(error, i18n.current_locale))
        return
    draft.text, draft.photo_file_id = text, photo
    await DRAFTS.save(state, draft)
    await state.set_state(Compose.button)
    await message.answer(view.button_question(), reply_markup=view.button_choice_keyboard(draft))


async def content_of_wrong_kind(message: Message) -> None:
    await message.answer(view.wrong_content_kind())


# -- step 2: an optional button -----------------------------------------------------------


async def without_button(
    query: CallbackQuery,
    callback_data: AnnounceCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.button_text = draft.button_url = None
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, view.button_question() + "\n\n" + _("Without a button."))
    await AUDIENCE.show(query, state, session, i18n.current_locale, draft)


async def with_button(query: CallbackQuery, callback_data: AnnounceCb, state: FSMContext) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await state.set_state(Compose.button_text)
    await query.answer()
    await replace_prompt(query, view.button_question() + "\n\n" + _("With a button."))
    await send_to_chat(query, text=view.button_text_prompt())


async def button_text_received(message: Message, state: FSMContext) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _start_again(message, state)
        return
    label = " ".join(message.text.split())
    if not 1 <= len(label) <= broadcasts.MAX_BUTTON_TEXT:
        await message.answer(view.button_text_problem(len(label)))
        return
    draft.button_text = label
    await DRAFTS.save(state, draft)
    await state.set_state(Compose.button_url)
    await message.answer(view.button_url_prompt())


async def button_url_received(
    message: Message, state: FSMContext, session: AsyncSession, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _start_again(message, state)
        return
    url = view.normalize_url(message.text)
    try:
        if url is None:
            raise BroadcastError(broadcasts.BroadcastProblem.BUTTON_INVALID)
        broadcasts.check_content(
            draft.text,
            has_photo=draft.photo_file_id is not None,
            button_text=draft.button_text,
            button_url=url,
        )
    except BroadcastError as error:
        await message.answer(view.content_problem(error, i18n.current_locale))
        return
    draft.button_url = url
    await DRAFTS.save(state, draft)
    await AUDIENCE.show(message, state, session, i18n.current_locale, draft)


async def text_expected(message: Message) -> None:
    await message.answer(view.text_expected())


async def buttons_expected(message: Message) -> None:
    await message.answer(_("Please answer by pressing one of the buttons."))


# -- step 3: the audience (handlers/audience_picker.py); step 4: preview, confirmation -----


async def to_preview(
    query: CallbackQuery,
    callback_data: AudienceCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    locale = i18n.current_locale
    draft = await AUDIENCE.chosen(query, callback_data, state, session, locale)
    if draft is None:
        return
    assert query.message is not None and query.bot is not None
    chat_id = query.message.chat.id
    await query.bot.send_message(chat_id, view.preview_intro())
    try:
        if draft.photo_file_id:
            await query.bot.send_photo(
                chat_id,
                draft.photo_file_id,
                caption=draft.text or None,
                reply_markup=view.preview_markup(draft),
            )
        else:
            await query.bot.send_message(
                chat_id, draft.text, reply_markup=view.preview_markup(draft)
            )
    except TelegramBadRequest as exc:
        # Telegram refused the content (e.g. a link it does not accept): residents would
        # not get it either, so the organizer starts the content again.
        logger.info("announcement preview refused: %s", exc.message)
        await state.set_state(Compose.content)
        await query.bot.send_message(
            chat_id,
            _("Telegram did not accept this announcement. Please send the text or photo again."),
        )
        return
    count = await audiences.count(session, draft.audience, MessageCategory.ANNOUNCEMENT)
    await state.set_state(Compose.confirm)
    await query.bot.send_message(
        chat_id, view.confirm_text(count, locale), reply_markup=view.confirm_keyboard(draft)
    )


async def send_now(
    query: CallbackQuery,
    callback_data: AnnounceCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    delivery: DeliveryEngine,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    assert query.message is not None
    try:
        await _create(session, draft, query.from_user.id, query.message.chat.id)
    except BroadcastError as error:
        await query.answer()
        await state.set_state(Compose.content)
        await send_to_chat(query, text=view.content_problem(error, i18n.current_locale))
        return
    await DRAFTS.finish(state)
    _wake_after_commit(session, delivery)
    await query.answer(_("Sending."))
    note = _quiet_hours_note(utcnow(), settings, i18n.current_locale, now=True)
    await replace_prompt(query, view.sending_text() + note)


async def ask_schedule(
    query: CallbackQuery, callback_data: AnnounceCb, state: FSMContext, settings: Settings
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await state.set_state(Compose.schedule)
    await query.answer()
    await send_to_chat(query, text=view.schedule_prompt(utcnow(), settings.tz))


async def schedule_received(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None or message.from_user is None:
        await _start_again(message, state)
        return
    now = utcnow()
    moment = view.parse_local_moment(message.text, settings.tz)
    if moment is None:
        await message.answer(view.time_not_understood(now, settings.tz))
        return
    if moment <= now:
        await message.answer(view.time_in_the_past())
        return
    try:
        await _create(session, draft, message.from_user.id, message.chat.id, send_at=moment)
    except BroadcastError as error:
        await message.answer(view.content_problem(error, i18n.current_locale))
        return
    await DRAFTS.finish(state)
    locale = i18n.current_locale
    text = view.scheduled_text(moment, settings.tz, locale)
    text += _quiet_hours_note(moment, settings, locale, now=False)
    await message.answer(text + "\n\n" + _("Your announcements: /announcements"))


async def discard(query: CallbackQuery, callback_data: AnnounceCb, state: FSMContext) -> None:
    await DRAFTS.discard(query, state, callback_data.draft, view.discarded_text())


# -- the organizer's announcements ----------------------------------------------------------


async def _render_list(
    session: AsyncSession, organizer_id: int, settings: Settings, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    items = await broadcasts.listed(
        session, created_by=organizer_id, category=MessageCategory.ANNOUNCEMENT
    )
    with_progress = [
        (b, await broadcasts.progress(session, b.id) if b.started_at else None) for b in items
    ]
    return (
        view.announcements_text(with_progress, settings.tz, locale),
        view.announcements_keyboard(items),
    )


async def list_announcements(
    message: Message, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    assert message.from_user is not None
    text, markup = await _render_list(session, message.from_user.id, settings, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def cancel_scheduled(
    query: CallbackQuery,
    callback_data: BroadcastCancelCb,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    cancelled = await broadcasts.cancel(
        session,
        callback_data.id,
        created_by=query.from_user.id,
        category=MessageCategory.ANNOUNCEMENT,
    )
    if cancelled:
        await query.answer(_("The announcement is cancelled."))
    else:
        await query.answer(_("This announcement can no longer be cancelled."))
    text, markup = await _render_list(session, query.from_user.id, settings, i18n.current_locale)
    await replace_prompt(query, text, markup)


def create_router() -> Router:
    router = Router(name="announcements")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    msg, cb = router.message.register, router.callback_query.register

    msg(announce, Command("announce"), is_organizer)
    msg(list_announcements, Command("announcements"), is_organizer)
    msg(refuse, Command("announce", "announcements"))
    msg(cancel_composing, Command("cancel"), StateFilter(Compose), is_organizer)

    msg(content_received, Compose.content, F.photo | F.func(typed_text), is_organizer)
    msg(content_of_wrong_kind, Compose.content, ~F.text, is_organizer)
    cb(without_button, Compose.button, AnnounceCb.filter(F.action == "nobutton"), is_organizer)
    cb(with_button, Compose.button, AnnounceCb.filter(F.action == "button"), is_organizer)
    msg(button_text_received, Compose.button_text, F.func(typed_text), is_organizer)
    msg(button_url_received, Compose.button_url, F.func(typed_text), is_organizer)
    msg(
        text_expected,
        StateFilter(Compose.button_text, Compose.button_url, Compose.schedule),
        ~F.text,
        is_organizer,
    )

    msg(
        buttons_expected,
        StateFilter(Compose.button, Compose.audience, Compose.confirm),
        ~F.text | F.func(typed_text),
        is_organizer,
    )

    router.include_router(audience_picker.create_router(AUDIENCE, is_organizer))
    cb(to_preview, Compose.audience, AUDIENCE.done_filter(), is_organizer)

    deciding = StateFilter(Compose.confirm, Compose.schedule)
    cb(send_now, deciding, AnnounceCb.filter(F.action == "send"), is_organizer)
    cb(ask_schedule, deciding, AnnounceCb.filter(F.action == "schedule"), is_organizer)
    cb(discard, deciding, AnnounceCb.filter(F.action == "discard"), is_organizer)
    msg(schedule_received, Compose.schedule, F.func(typed_text), is_organizer)

    cb(cancel_scheduled, BroadcastCancelCb.filter(), is_organizer)
    return router
