"""Organizers create events step by step (/newevent), list and manage them (/events) and
get poster links with QR codes (/event_link).

Organizers only, in a private chat. Creating: kind → title → description → the event's
municipalities → place (address and an optional map point, or an online link) → start →
end → places → registration deadline → registration questions → places per organization
→ audience → summary → Paskelbti. Every step is checked with :func:`events.validate`;
"Paskelbti" creates the event and its invitation broadcast (a Registruotis button with the
deep link) and ends the conversation in one transaction, so a double tap publishes once.
The organizer then gets the link and its QR code (sent after the commit).

Changing an event's time or place uses the same steps (the draft holds the event as it
is, ``editing`` its id) and ends with a summary old → new; saving tells the registered,
offered and waiting residents through the delivery engine. Cancelling takes two taps and
tells them the same way. The service checks that the event is the organizer's own, so a
forged or stale button changes nothing.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import event_admin as view
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.announcing import parse_local_moment, time_not_understood
from bot.channels.telegram.audience_picker import AudienceCb
from bot.channels.telegram.event_callbacks import (
    EventManageCb,
    ManageAction,
    NewEventCb,
    NewEventMunicipalityCb,
    NewEventPageCb,
)
from bot.channels.telegram.event_view import when_text
from bot.channels.telegram.filters import is_organizer, typed_text
from bot.channels.telegram.qr import qr_png
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.services import audiences, broadcasts, events, municipalities
from bot.services.audiences import Audience
from bot.services.events import EventError, EventProblem
from handlers import audience_picker
from handlers.audience_picker import AudienceStep, Drafts, ask
from models import Event, EventKind, MessageCategory, utcnow

Target = Message | CallbackQuery


class NewEvent(StatesGroup):
    kind = State()
    title = State()
    description = State()
    municipalities = State()
    place = State()
    online = State()
    point = State()
    starts = State()
    ends = State()
    capacity = State()
    deadline = State()
    questions = State()
    quota = State()
    audience = State()
    confirm = State()


class EditEvent(StatesGroup):
    """Changing an event's time or place (the steps shared with creating, then a check)."""

    place = State()
    online = State()
    point = State()
    starts = State()
    ends = State()
    confirm = State()


DRAFTS = Drafts(view.EventDraft)
AUDIENCE = AudienceStep(view.AUDIENCE, DRAFTS, NewEvent.audience, MessageCategory.EVENT)
PLACE = StateFilter(NewEvent.place, EditEvent.place)
ONLINE = StateFilter(NewEvent.online, EditEvent.online)
POINT = StateFilter(NewEvent.point, EditEvent.point)
STARTS = StateFilter(NewEvent.starts, EditEvent.starts)
ENDS = StateFilter(NewEvent.ends, EditEvent.ends)


async def _lost(message: Message, state: FSMContext) -> None:
    await DRAFTS.stop(message, state, view.lost_text())


def _check(draft: view.EventDraft, settings: Settings, now: datetime) -> None:
    """The steps taken so far, as the service checks them (raises EventError)."""
    events.validate(
        draft.spec(
            offer_hours=settings.event.offer_hours,
            reminder_offsets=settings.event.reminder_offsets,
            now=now,
        ),
        now=now,
        previous_start=draft.current_start,
    )


async def _checked(
    message: Message, draft: view.EventDraft, settings: Settings, i18n: I18n
) -> bool:
    """True when the draft passes; otherwise the organizer is told why (the step stays)."""
    try:
        _check(draft, settings, utcnow())
    except EventError as error:
        await message.answer(view.problem_text(error, i18n.current_locale))
        return False
    return True


def _wake_after_commit(session: AsyncSession, delivery: DeliveryEngine) -> None:
    sa_event.listen(session.sync_session, "after_commit", lambda _s: delivery.wake(), once=True)


# -- start, stop, refuse --------------------------------------------------------------------


async def new_event(message: Message, state: FSMContext) -> None:
    draft = view.EventDraft(id=message.message_id)
    await state.set_state(NewEvent.kind)
    await DRAFTS.save(state, draft)
    await message.answer(view.kind_prompt(), reply_markup=view.kind_keyboard(draft))


async def refuse(message: Message) -> None:
    await message.answer(_("Sorry, only organizers can do this."))


async def cancel_composing(message: Message, state: FSMContext) -> None:
    draft = await DRAFTS.get(state)
    editing = draft is not None and draft.editing is not None
    await DRAFTS.stop(
        message, state, view.edit_discarded_text() if editing else view.discarded_text()
    )


async def text_expected(message: Message) -> None:
    await message.answer(_("Please answer with text."))


async def buttons_expected(message: Message) -> None:
    await message.answer(_("Please answer by pressing one of the buttons."))


async def point_expected(message: Message) -> None:
    await message.answer(view.point_expected())


# -- kind, title, description ------------------------------------------------------------


async def kind_chosen(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.kind = EventKind(callback_data.action).value
    await DRAFTS.save(state, draft)
    await state.set_state(NewEvent.title)
    await query.answer()
    await replace_prompt(query, view.kind_chosen(draft))
    await send_to_chat(query, text=view.title_prompt())


async def title_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    draft.title = " ".join(message.text.split())
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await state.set_state(NewEvent.description)
    await message.answer(view.description_prompt(), reply_markup=view.description_keyboard(draft))


async def _ask_municipalities(
    target: Target, state: FSMContext, session: AsyncSession, locale: str, draft: view.EventDraft
) -> None:
    await state.set_state(NewEvent.municipalities)
    active = await municipalities.list_active(session, locale)
    chosen = await municipalities.list_by_ids(session, draft.places, locale)
    await ask(
        target,
        view.municipalities_text(chosen, locale),
        markup=view.municipalities_keyboard(draft, active, locale, 0),
    )


async def description_received(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    draft.description = message.text.strip()
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await _ask_municipalities(message, state, session, i18n.current_locale, draft)


async def without_description(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.description = ""
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, view.description_prompt() + "\n\n" + _("No description."))
    await _ask_municipalities(query, state, session, i18n.current_locale, draft)


# -- the event's municipalities -----------------------------------------------------------


async def _show_municipality_page(
    query: CallbackQuery, session: AsyncSession, locale: str, draft: view.EventDraft, page: int
) -> None:
    active = await municipalities.list_active(session, locale)
    chosen = await municipalities.list_by_ids(session, draft.places, locale)
    await replace_prompt(
        query,
        view.municipalities_text(chosen, locale),
        view.municipalities_keyboard(draft, active, locale, page),
    )


async def municipality_toggled(
    query: CallbackQuery,
    callback_data: NewEventMunicipalityCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    chosen = callback_data.id in draft.places
    if not chosen and await municipalities.get_active_by_id(session, callback_data.id) is None:
        await query.answer(_("This municipality cannot be chosen. Please choose another one."))
        return
    draft.places = [p for p in draft.places if p != callback_data.id]
    if not chosen:
        draft.places = [*draft.places, callback_data.id]
    await DRAFTS.save(state, draft)
    await query.answer()
    await _show_municipality_page(query, session, i18n.current_locale, draft, callback_data.page)


async def municipality_page(
    query: CallbackQuery,
    callback_data: NewEventPageCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await query.answer()
    await _show_municipality_page(query, session, i18n.current_locale, draft, callback_data.page)


async def municipalities_done(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    locale = i18n.current_locale
    if not draft.places:
        problem = EventError(EventProblem.NO_MUNICIPALITY)
        await query.answer(view.problem_text(problem, locale)[:200], show_alert=True)
        return
    await query.answer()
    chosen = await municipalities.list_by_ids(session, draft.places, locale)
    await replace_prompt(query, view.municipalities_text(chosen, locale))
    await state.set_state(NewEvent.place)
    await send_to_chat(query, text=view.place_prompt(), reply_markup=view.place_keyboard(draft))


# -- the place (creating and changing) -------------------------------------------------------


async def address_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    draft.address = " ".join(message.text.split())
    draft.online_url = draft.latitude = draft.longitude = None
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await state.set_state(EditEvent.point if draft.editing else NewEvent.point)
    await message.answer(view.point_prompt(), reply_markup=view.point_keyboard(draft))


async def online_chosen(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await state.set_state(EditEvent.online if draft.editing else NewEvent.online)
    await query.answer()
    await replace_prompt(query, view.place_prompt() + "\n\n" + _("Online event."))
    await send_to_chat(query, text=view.online_prompt())


async def link_received(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    draft.online_url = message.text.strip()
    draft.address = draft.latitude = draft.longitude = None
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await _after_place(message, state, session, settings, i18n, draft)


async def _point_chosen(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    point: tuple[float, float],
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None:
        await _lost(message, state)
        return
    draft.latitude, draft.longitude = point
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await message.answer(_("The map point is added."))
    await _after_place(message, state, session, settings, i18n, draft)


async def location_received(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    assert message.location is not None
    point = (message.location.latitude, message.location.longitude)
    await _point_chosen(message, state, session, settings, i18n, point)


async def coordinates_received(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    point = view.parse_point(message.text or "")
    if point is None:
        await message.answer(view.point_expected())
        return
    await _point_chosen(message, state, session, settings, i18n, point)


async def without_point(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.latitude = draft.longitude = None
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, view.point_prompt() + "\n\n" + _("No map point."))
    await _after_place(query, state, session, settings, i18n, draft)


async def _after_place(
    target: Target,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    draft: view.EventDraft,
) -> None:
    if draft.editing is not None:
        await _ask_edit_confirm(target, state, session, settings, i18n, draft)
        return
    await state.set_state(NewEvent.starts)
    await ask(target, view.starts_prompt(utcnow(), settings.tz))


# -- start and end (creating and changing) ----------------------------------------------------


async def start_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    now = utcnow()
    moment = parse_local_moment(message.text, settings.tz)
    if moment is None:
        await message.answer(time_not_understood(now, settings.tz))
        return
    if moment <= now and moment != draft.current_start:
        await message.answer(view.time_in_the_past(now, settings.tz))
        return
    draft.starts_at, draft.ends_at = moment.isoformat(), None
    if draft.registration_deadline is not None and draft.registration_deadline > moment:
        draft.deadline = None  # changing the time: registration now closes at the new start
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await state.set_state(EditEvent.ends if draft.editing else NewEvent.ends)
    await message.answer(view.ends_prompt(moment, settings.tz, i18n.current_locale))


async def end_received(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None or draft.start is None:
        await _lost(message, state)
        return
    start = draft.start
    moment = view.parse_end(message.text, start, settings.tz) or parse_local_moment(
        message.text, settings.tz
    )
    if moment is None:
        await message.answer(time_not_understood(utcnow(), settings.tz))
        return
    if moment <= start:
        await message.answer(view.end_before_start(start, settings.tz))
        return
    draft.ends_at = moment.isoformat()
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    if draft.editing is not None:
        await _ask_edit_confirm(message, state, session, settings, i18n, draft)
        return
    await state.set_state(NewEvent.capacity)
    await message.answer(view.capacity_prompt(), reply_markup=view.capacity_keyboard(draft))


# -- places, deadline, questions, quota -----------------------------------------------------


async def _ask_deadline(
    target: Target, state: FSMContext, settings: Settings, i18n: I18n, draft: view.EventDraft
) -> None:
    assert draft.start is not None
    await state.set_state(NewEvent.deadline)
    await ask(
        target,
        view.deadline_prompt(draft.start, settings.tz, i18n.current_locale),
        markup=view.deadline_keyboard(draft),
    )


async def capacity_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    if view.is_unlimited(message.text):
        draft.capacity = None
    else:
        count = view.parse_count(message.text)
        if count is None:
            await message.answer(view.capacity_not_understood())
            return
        draft.capacity = count
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await _ask_deadline(message, state, settings, i18n, draft)


async def unlimited_chosen(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.capacity = None
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, view.capacity_prompt() + "\n\n" + _("Places: unlimited."))
    await _ask_deadline(query, state, settings, i18n, draft)


async def _ask_questions(target: Target, state: FSMContext, draft: view.EventDraft) -> None:
    await state.set_state(NewEvent.questions)
    await ask(target, view.questions_prompt(), markup=view.questions_keyboard(draft))


async def deadline_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    now = utcnow()
    moment = parse_local_moment(message.text, settings.tz)
    if moment is None:
        await message.answer(time_not_understood(now, settings.tz))
        return
    if moment <= now:
        await message.answer(view.time_in_the_past(now, settings.tz))
        return
    draft.deadline = moment.isoformat()
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await _ask_questions(message, state, draft)


async def deadline_at_start(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.deadline = None
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, _("Registration is open until the event starts."))
    await _ask_questions(query, state, draft)


async def question_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    locale = i18n.current_locale
    if len(draft.questions) >= view.MAX_QUESTIONS:
        error = EventError(EventProblem.TOO_MANY_QUESTIONS, limit=view.MAX_QUESTIONS)
        await message.answer(view.problem_text(error, locale))
        return
    # A new list: the draft's lists are shared with the state's cached data until saved.
    draft.questions = [*draft.questions, " ".join(message.text.split())]
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await message.answer(view.questions_status(draft), reply_markup=view.questions_keyboard(draft))


async def questions_done(
    query: CallbackQuery, callback_data: NewEventCb, state: FSMContext
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await query.answer()
    done = view.questions_status(draft).rsplit("\n\n", 1)[0] if draft.questions else None
    await replace_prompt(query, done or _("No registration questions."))
    await state.set_state(NewEvent.quota)
    await send_to_chat(query, text=view.quota_prompt(), reply_markup=view.quota_keyboard(draft))


async def quota_received(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    count = view.parse_count(message.text)
    if count is None:
        await message.answer(view.quota_not_understood())
        return
    draft.quota = count
    if not await _checked(message, draft, settings, i18n):
        return
    await DRAFTS.save(state, draft)
    await AUDIENCE.show(message, state, session, i18n.current_locale, draft)


async def without_quota(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.quota = None
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, view.quota_prompt() + "\n\n" + _("No limit per organization."))
    await AUDIENCE.show(query, state, session, i18n.current_locale, draft)


# -- audience, summary, publishing ------------------------------------------------------------


async def _summary(
    session: AsyncSession, settings: Settings, locale: str, draft: view.EventDraft
) -> str:
    places = await municipalities.list_by_ids(session, draft.places, locale)
    audience = await AUDIENCE.lines(session, draft, locale)
    return view.summary_text(draft, places, audience, settings.tz, locale)


async def audience_chosen(
    query: CallbackQuery,
    callback_data: AudienceCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    if callback_data.action != "everyone" and draft.audience_outside_places():
        await query.answer(view.audience_outside_places()[:200], show_alert=True)
        return
    locale = i18n.current_locale
    draft = await AUDIENCE.chosen(query, callback_data, state, session, locale)
    if draft is None:
        return
    await state.set_state(NewEvent.confirm)
    await send_to_chat(
        query,
        text=await _summary(session, settings, locale, draft),
        reply_markup=view.confirm_keyboard(draft),
    )


def _send_poster_after_commit(
    session: AsyncSession, bot: Bot, chat_id: int, url: str, caption: str, name: str
) -> None:
    """The QR code of ``url`` as a PNG photo, once the update's transaction has committed."""
    png = qr_png(url)

    async def send() -> None:
        await bot.send_photo(chat_id, BufferedInputFile(png, filename=name), caption=caption)

    after_commit(session, send)


async def publish(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    delivery: DeliveryEngine,
    bot: Bot,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None or query.message is None:
        return
    locale = i18n.current_locale
    spec = draft.spec(
        offer_hours=settings.event.offer_hours, reminder_offsets=settings.event.reminder_offsets
    )
    try:
        event = await events.create_event(session, spec, created_by=query.from_user.id)
    except EventError as error:
        # Time passed while the organizer was deciding (or a municipality was deactivated).
        await query.answer()
        await send_to_chat(query, text=view.problem_text(error, locale))
        if error.problem in (EventProblem.START_IN_PAST, EventProblem.DEADLINE_AFTER_START):
            draft.deadline = None
            await DRAFTS.save(state, draft)
            await state.set_state(NewEvent.starts)
            await send_to_chat(query, text=view.starts_prompt(utcnow(), settings.tz))
        return
    await query.answer()
    username = (await bot.me()).username or ""
    url = view.register_url(username, event.id)
    default = settings.default_locale
    with i18n.use_locale(default):
        text = view.invitation_text(event, settings.tz, default)
        button = view.register_button()
    await broadcasts.create(
        session,
        created_by=query.from_user.id,
        text=text,
        audience=draft.audience,
        category=MessageCategory.EVENT,
        button_text=button,
        button_url=url,
    )
    reached = await audiences.count(session, draft.audience, MessageCategory.EVENT)
    _wake_after_commit(session, delivery)
    summary = await _summary(session, settings, locale, draft)
    await DRAFTS.finish(state)
    await replace_prompt(query, summary)
    await send_to_chat(query, text=view.published_text(event, reached, url, locale))
    caption = view.poster_caption(event, url, None)
    name = f"renginys-{event.id}.png"
    _send_poster_after_commit(session, bot, query.message.chat.id, url, caption, name)


async def discard(query: CallbackQuery, callback_data: NewEventCb, state: FSMContext) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await DRAFTS.finish(state)
    await query.answer()
    text = view.edit_discarded_text() if draft.editing else view.discarded_text()
    await replace_prompt(query, text)


# -- /event_link ID TAG ------------------------------------------------------------------------


async def event_link(
    message: Message, command: CommandObject, session: AsyncSession, bot: Bot
) -> None:
    words = (command.args or "").split()
    number = words[0].removeprefix("#") if words else ""
    if len(words) != 2 or not number.isdigit() or len(number) > 9:
        await message.answer(view.link_usage())
        return
    source = words[1]
    if not view.SOURCE_TAG.match(source):
        await message.answer(view.bad_tag())
        return
    event = await events.get_event(session, int(number))
    if event is None:
        await message.answer(view.no_such_event(int(number)))
        return
    if events.state(event) in (events.EventState.CANCELLED, events.EventState.FINISHED):
        await message.answer(view.event_not_open(event))
        return
    url = view.register_url((await bot.me()).username or "", event.id, source)
    await message.answer(view.link_text(event, url, source))
    caption = view.poster_caption(event, url, source)
    name = f"renginys-{event.id}-{source}.png"
    _send_poster_after_commit(session, bot, message.chat.id, url, caption, name)


# -- /events: the organizer's events, changes and cancelling ----------------------------------


async def list_events(
    message: Message, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    assert message.from_user is not None
    items = await events.list_for_organizer(
        session, message.from_user.id, include_finished=True, limit=10
    )
    await message.answer(
        view.events_text(items, settings.tz, i18n.current_locale),
        reply_markup=view.events_keyboard(items),
    )


async def _own_open_event(
    query: CallbackQuery, session: AsyncSession, event_id: int
) -> Event | None:
    """The presser's own event that can still change; otherwise the press is answered."""
    event = await events.get_event(session, event_id)
    if event is None or event.created_by != query.from_user.id:
        await query.answer(view.no_such_event(event_id)[:200])
        return None
    if events.state(event) in (events.EventState.CANCELLED, events.EventState.FINISHED):
        await query.answer(view.event_not_open(event)[:200])
        return None
    return event


def _notice_recipients(event_id: int) -> Audience:
    return Audience(registered_event_id=event_id, with_waitlist=True)


async def manage(
    query: CallbackQuery,
    callback_data: EventManageCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    delivery: DeliveryEngine,
    i18n: I18n,
) -> None:
    event = await _own_open_event(query, session, callback_data.event)
    if event is None:
        return
    locale, tz, action = i18n.current_locale, settings.tz, callback_data.action
    if action is ManageAction.CANCEL_CONFIRM:
        await _cancel(query, session, settings, delivery, i18n, event)
        return
    await query.answer()
    if action is ManageAction.EDIT:
        await send_to_chat(
            query,
            text=view.edit_menu_text(event, tz, locale),
            reply_markup=view.edit_menu_keyboard(event.id),
        )
    elif action is ManageAction.CANCEL:
        recipients = await audiences.count(
            session, _notice_recipients(event.id), MessageCategory.EVENT
        )
        await send_to_chat(
            query,
            text=view.cancel_question(event, recipients, tz, locale),
            reply_markup=view.cancel_keyboard(event.id),
        )
    elif action is ManageAction.CANCEL_KEEP:
        await replace_prompt(query, view.kept_text(event))
    else:
        draft = view.EventDraft.of_event(secrets.randbelow(2**31), event)
        await DRAFTS.save(state, draft)
        await replace_prompt(query, view.edit_menu_text(event, tz, locale))
        if action is ManageAction.TIME:
            await state.set_state(EditEvent.starts)
            await send_to_chat(query, text=view.starts_prompt(utcnow(), tz))
        else:
            await state.set_state(EditEvent.place)
            await send_to_chat(
                query, text=view.place_prompt(), reply_markup=view.place_keyboard(draft)
            )


async def _ask_edit_confirm(
    target: Target,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    draft: view.EventDraft,
) -> None:
    assert draft.editing is not None
    event = await events.get_event(session, draft.editing)
    if event is None:
        await DRAFTS.finish(state)
        await ask(target, view.no_such_event(draft.editing))
        return
    recipients = await audiences.count(session, _notice_recipients(event.id), MessageCategory.EVENT)
    await state.set_state(EditEvent.confirm)
    await ask(
        target,
        view.edit_confirm_text(event, draft, recipients, settings.tz, i18n.current_locale),
        markup=view.confirm_keyboard(draft),
    )


async def save_change(
    query: CallbackQuery,
    callback_data: NewEventCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    delivery: DeliveryEngine,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None or draft.editing is None:
        return
    locale, tz, default = i18n.current_locale, settings.tz, settings.default_locale
    event = await events.get_event(session, draft.editing)
    if event is None:
        await DRAFTS.finish(state)
        await query.answer(view.no_such_event(draft.editing)[:200])
        return
    with i18n.use_locale(default):
        old_when, old_place = when_text(event, tz, default), view.place_line(event)
    old_start = event.starts_at
    new = dataclasses.replace(
        events.spec_of(event),
        starts_at=draft.start or event.starts_at,
        ends_at=draft.end or event.ends_at,
        place_address=draft.address,
        latitude=draft.latitude,
        longitude=draft.longitude,
        online_url=draft.online_url,
        registration_deadline=draft.registration_deadline,
    )
    now = utcnow()
    try:
        update = await events.update_event(session, event.id, new, by=query.from_user.id, now=now)
    except EventError as error:
        await DRAFTS.finish(state)
        await query.answer()
        await replace_prompt(query, view.problem_text(error, locale))
        return
    await DRAFTS.finish(state)
    await query.answer()
    if not update.changed:
        await replace_prompt(query, view.unchanged_text())
        return
    recipients = 0
    if update.notify:
        with i18n.use_locale(default):
            text = view.change_notice(
                update.event,
                old_when,
                old_place,
                time=update.time_changed,
                place=update.place_changed,
                tz=tz,
                locale=default,
            )
        audience = _notice_recipients(event.id)
        await broadcasts.create(
            session,
            created_by=query.from_user.id,
            text=text,
            audience=audience,
            category=MessageCategory.EVENT,
            urgent=view.is_urgent([old_start, update.event.starts_at], now),
        )
        recipients = await audiences.count(session, audience, MessageCategory.EVENT)
        _wake_after_commit(session, delivery)
    await replace_prompt(query, view.changed_text(recipients, locale))


async def _cancel(
    query: CallbackQuery,
    session: AsyncSession,
    settings: Settings,
    delivery: DeliveryEngine,
    i18n: I18n,
    event: Event,
) -> None:
    locale, tz, default = i18n.current_locale, settings.tz, settings.default_locale
    now = utcnow()
    try:
        result = await events.cancel_event(session, event.id, by=query.from_user.id, now=now)
    except EventError as error:
        await query.answer(view.problem_text(error, locale)[:200])
        return
    if not result.cancelled:
        await query.answer(view.event_not_open(event)[:200])
        return
    recipients = 0
    if result.notify:
        with i18n.use_locale(default):
            text = view.cancellation_notice(result.event, tz, default)
        audience = _notice_recipients(event.id)
        await broadcasts.create(
            session,
            created_by=query.from_user.id,
            text=text,
            audience=audience,
            category=MessageCategory.EVENT,
            urgent=view.is_urgent([result.event.starts_at], now),
        )
        recipients = await audiences.count(session, audience, MessageCategory.EVENT)
        _wake_after_commit(session, delivery)
    await query.answer(_("The event is cancelled."))
    await replace_prompt(query, view.cancelled_text(result.event, recipients, locale))


def create_router() -> Router:
    router = Router(name="event_admin")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    msg, cb = router.message.register, router.callback_query.register

    msg(new_event, Command("newevent"), is_organizer)
    msg(list_events, Command("events"), is_organizer)
    msg(event_link, Command("event_link"), is_organizer)
    msg(refuse, Command("newevent", "event_link"))
    creating = StateFilter(NewEvent, EditEvent)
    msg(cancel_composing, Command("cancel"), creating, is_organizer)

    typed = F.func(typed_text)
    msg(title_received, NewEvent.title, typed, is_organizer)
    msg(description_received, NewEvent.description, typed, is_organizer)
    msg(address_received, PLACE, typed, is_organizer)
    msg(link_received, ONLINE, typed, is_organizer)
    msg(location_received, POINT, F.location, is_organizer)
    msg(coordinates_received, POINT, typed, is_organizer)
    msg(point_expected, POINT, ~F.text, is_organizer)
    msg(start_received, STARTS, typed, is_organizer)
    msg(end_received, ENDS, typed, is_organizer)
    msg(capacity_received, NewEvent.capacity, typed, is_organizer)
    msg(deadline_received, NewEvent.deadline, typed, is_organizer)
    msg(question_received, NewEvent.questions, typed, is_organizer)
    msg(quota_received, NewEvent.quota, typed, is_organizer)
    writing = StateFilter(
        NewEvent.title,
        NewEvent.description,
        NewEvent.place,
        NewEvent.online,
        NewEvent.starts,
        NewEvent.ends,
        NewEvent.capacity,
        NewEvent.deadline,
        NewEvent.questions,
        NewEvent.quota,
        EditEvent.place,
        EditEvent.online,
        EditEvent.starts,
        EditEvent.ends,
    )
    msg(text_expected, writing, ~F.text, is_organizer)
    pressing = StateFilter(
        NewEvent.kind,
        NewEvent.municipalities,
        NewEvent.audience,
        NewEvent.confirm,
        EditEvent.confirm,
    )
    msg(buttons_expected, pressing, ~F.text | typed, is_organizer)

    def step(action: str | set[str]) -> CallbackQueryFilter:
        actions = {action} if isinstance(action, str) else action
        return NewEventCb.filter(F.action.in_(actions))

    kinds = {kind.value for kind in EventKind}
    cb(kind_chosen, NewEvent.kind, step(kinds), is_organizer)
    cb(without_description, NewEvent.description, step("nodescription"), is_organizer)
    cb(municipality_toggled, NewEvent.municipalities, NewEventMunicipalityCb.filter(), is_organizer)
    cb(municipality_page, NewEvent.municipalities, NewEventPageCb.filter(), is_organizer)
    cb(municipalities_done, NewEvent.municipalities, step("places"), is_organizer)
    cb(online_chosen, PLACE, step("online"), is_organizer)
    cb(without_point, POINT, step("nopoint"), is_organizer)
    cb(unlimited_chosen, NewEvent.capacity, step("unlimited"), is_organizer)
    cb(deadline_at_start, NewEvent.deadline, step("atstart"), is_organizer)
    cb(questions_done, NewEvent.questions, step("questions"), is_organizer)
    cb(without_quota, NewEvent.quota, step("noquota"), is_organizer)
    cb(audience_chosen, NewEvent.audience, AUDIENCE.done_filter(), is_organizer)
    cb(publish, NewEvent.confirm, step("publish"), is_organizer)
    cb(save_change, EditEvent.confirm, step("save"), is_organizer)
    cb(discard, StateFilter(NewEvent.confirm, EditEvent.confirm), step("discard"), is_organizer)
    router.include_router(audience_picker.create_router(AUDIENCE, is_organizer))

    cb(manage, EventManageCb.filter(), is_organizer)
    return router
