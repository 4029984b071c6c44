"""Residents and events: the list (Renginiai), an event's card, registering in two taps
with the registration questions, the waitlist and its offers, and their registrations.

The rules are in ``bot.services.event_registrations``; this module shows their outcomes.
The registration questions wait in the conversation state (``EventRegistering``), which
lives in the database: a restart in the middle loses nothing. Messages to other people (an
offer to the next on the waitlist, a capacity threshold to the organizer) and the
resident's confirmation with its files are sent after the update's transaction has
committed, so nobody is told about something that was then rolled back. An offer goes to
the resident on their app: Telegram directly, Messenger through the ``ResidentNotifier``
(``notifier`` in the dispatcher's data) as an event update — they registered to the event.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.event_messages import (
    Outgoing,
    offer_messages,
    send_all,
)
from bot.channels.notices import ResidentNotifier
from bot.channels.telegram import event_view as view
from bot.channels.telegram.after_commit import Work, after_commit
from bot.channels.telegram.calendar_file import calendar_bytes, filename
from bot.channels.telegram.event_callbacks import (
    CancelStep,
    EventConfirmCb,
    EventListCb,
    EventMineCb,
    EventOpenCb,
    EventRegisterCb,
    OfferAnswer,
    OfferCb,
    QuestionSkipCb,
    RegistrationCancelCb,
    RegistrationStopCb,
    ShareName,
)
from bot.channels.telegram.filters import typed_answer
from bot.channels.telegram.qr import qr_png
from bot.channels.telegram.replies import edit_markup, replace_prompt, send_to_chat
from bot.config import Settings
from bot.services import event_registrations, events
from bot.services.event_registrations import (
    ANSWER_MAX_LENGTH,
    CancelOutcome,
    OfferOutcome,
    Refusal,
    RegistrationOutcome,
    RegistrationResult,
)
from bot.services.events import EventState
from models import Event, EventStatus, Registration, RegistrationStatus, Resident, utcnow
from models.events import ACTIVE_STATUSES, ORGANIZATION_MAX_LENGTH

logger = logging.getLogger(__name__)

DRAFT_KEY = "event_registration"  # FSM data: the registration being filled in
SOURCE_KEY = "event_source"  # FSM data: {"event": id, "src": tag} from a deep link


class EventRegistering(StatesGroup):
    organization = State()  # waiting for the organization's name
    answer = State()  # waiting for the answer to a registration question


async def _tell_offered(
    bot: Bot,
    session: AsyncSession,
    offered: list[Registration],
    *,
    i18n: I18n,
    settings: Settings,
    notifier: ResidentNotifier | None = None,
) -> None:
    messages = await offer_messages(
        session, offered, i18n=i18n, settings=settings, messenger=notifier is not None
    )
    if messages:
        after_commit(session, lambda: send_all(bot, messages, notifier))


async def _tell_thresholds(
    bot: Bot,
    session: AsyncSession,
    event: Event,
    thresholds: tuple[int, ...],
    *,
    i18n: I18n,
    settings: Settings,
) -> None:
    """The organizer learns the highest capacity threshold newly reached."""
    if not thresholds:
        return
    taken = await events.taken_places(session, event.id)
    locale = settings.default_locale
    with i18n.use_locale(locale):
        text = view.threshold_text(event, max(thresholds), taken, locale)
    message = Outgoing(event.created_by, text)
    after_commit(session, lambda: send_all(bot, [message]))


def _confirmation(
    bot: Bot,
    chat_id: int,
    event: Event,
    registration: Registration,
    *,
    settings: Settings,
    locale: str,
) -> Work:
    """The registered resident's confirmation: text with the code, the code's QR and the
    .ics file (texts translated now; sent after the commit)."""
    text = view.registered_text(event, registration, settings.tz, locale)
    caption = view.qr_caption(registration)
    picture = qr_png(registration.checkin_code)
    ics = calendar_bytes(
        event, registration, description=view.calendar_description(event, registration)
    )
    name = filename(event)

    async def send() -> None:
        await bot.send_message(chat_id, text)
        await bot.send_photo(
            chat_id, BufferedInputFile(picture, filename="kodas.png"), caption=caption
        )
        await bot.send_document(chat_id, BufferedInputFile(ics, filename=name))

    return send


# -- the list --------------------------------------------------------------------------------


async def show_list(
    bot: Bot,
    chat_id: int,
    *,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
    locale: str,
    page: int = 0,
    query: CallbackQuery | None = None,
) -> None:
    items = await events.list_upcoming_for(session, resident)
    if not items:
        text = view.no_events_text()
        markup = InlineKeyboardMarkup(inline_keyboard=[[view.my_registrations_button()]])
    else:
        page = min(max(page, 0), view.page_count(len(items)) - 1)
        text = view.event_list_text(items, page, settings.tz, locale)
        markup = view.event_list_keyboard(items, page)
    if query is not None:
        await replace_prompt(query, text, markup)
    else:
        await bot.send_message(chat_id, text, reply_markup=markup)


async def events_menu(
    message: Message, session: AsyncSession, resident: Resident, settings: Settings, i18n: I18n
) -> None:
    """Renginiai (the menu button, and /events for residents)."""
    assert message.bot is not None
    await show_list(
        message.bot,
        message.chat.id,
        session=session,
        resident=resident,
        settings=settings,
        locale=i18n.current_locale,
    )


async def _onboarded(query: CallbackQuery, resident: Resident | None) -> bool:
    if resident is None or not resident.is_onboarded:
        await query.answer(view.refusal_text(Refusal.NOT_ONBOARDED), show_alert=True)
        return False
    return True


async def list_pressed(
    query: CallbackQuery,
    callback_data: EventListCb,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
) -> None:
    if not await _onboarded(query, resident):
        return
    assert resident is not None
    await query.answer()
    await show_list(
        query.bot,  # type: ignore[arg-type]
        query.from_user.id,
        session=session,
        resident=resident,
        settings=settings,
        locale=i18n.current_locale,
        page=callback_data.page,
        query=query,
    )


# -- an event's card -----------------------------------------------------------------------


async def _visible_event(
    session: AsyncSession, event_id: int, resident: Resident | None
) -> tuple[Event | None, str | None]:
    """The event if the resident may see it, else why not (a short text)."""
    event = await events.get_event(session, event_id)
    if event is None:
        return None, view.refusal_text(Refusal.NOT_FOUND)
    if resident is None or not resident.is_onboarded:
        return None, view.refusal_text(Refusal.NOT_ONBOARDED)
    if resident.municipality_id not in event.municipality_ids:
        return None, view.refusal_text(Refusal.OUTSIDE_MUNICIPALITY)
    if not events.in_audience(event, resident):
        return None, view.refusal_text(Refusal.OUTSIDE_AUDIENCE)
    current = events.state(event)
    if current is EventState.CANCELLED:
        return None, view.refusal_text(Refusal.EVENT_CANCELLED)
    if current is EventState.FINISHED:
        return None, view.finished_text()
    return event, None


async def _own_registration(
    session: AsyncSession, event: Event, resident: Resident
) -> Registration | None:
    return await session.scalar(
        select(Registration).where(
            Registration.event_id == event.id, Registration.resident_id == resident.id
        )
    )


async def card(
    session: AsyncSession, event: Event, resident: Resident, settings: Settings, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    now = utcnow()
    registration = await _own_registration(session, event, resident)
    status = registration.status if registration is not None else None
    if status not in ACTIVE_STATUSES:
        status = None
    position = None
    if registration is not None and status is RegistrationStatus.WAITLISTED:
        position = await events.waitlist_position(session, registration)
    left = await events.places_left(session, event)
    text = view.event_card_text(event, left, status, position, settings.tz, locale, now)
    allowed = event_registrations.can_register(event, resident, now) is None
    return text, view.event_card_keyboard(event, registration, allowed)


async def open_event(
    bot: Bot,
    chat_id: int,
    event_id: int,
    *,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    locale: str,
    source: str | None = None,
) -> None:
    """Show the event's card (from a deep link: ``source`` is kept for the registration)."""
    event, refusal = await _visible_event(session, event_id, resident)
    if event is None or resident is None:
        await bot.send_message(chat_id, refusal or view.stale_text())
        return
    if source:
        await state.update_data({SOURCE_KEY: {"event": event.id, "src": source}})
    text, markup = await card(session, event, resident, settings, locale)
    await bot.send_message(chat_id, text, reply_markup=markup)


async def event_opened(
    query: CallbackQuery,
    callback_data: EventOpenCb,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
) -> None:
    event, refusal = await _visible_event(session, callback_data.event, resident)
    if event is None or resident is None:
        await query.answer(refusal, show_alert=True)
        return
    await query.answer()
    text, markup = await card(session, event, resident, settings, i18n.current_locale)
    await send_to_chat(query, text=text, reply_markup=markup)


# -- registering: two taps, then the questions --------------------------------------------


async def _registrable(
    query: CallbackQuery, session: AsyncSession, event_id: int, resident: Resident | None
) -> tuple[Event, Resident] | None:
    """The event if the resident may register now; else the presser is told why."""
    event = await events.get_event(session, event_id)
    if event is None:
        await query.answer(view.refusal_text(Refusal.NOT_FOUND), show_alert=True)
        return None
    if not await _onboarded(query, resident):
        return None
    assert resident is not None
    if event.status is EventStatus.CANCELLED:
        await query.answer(view.refusal_text(Refusal.EVENT_CANCELLED), show_alert=True)
        return None
    existing = await _own_registration(session, event, resident)
    if existing is not None and existing.status in ACTIVE_STATUSES:
        position = await events.waitlist_position(session, existing)
        await query.answer(view.already_text(existing.status, position), show_alert=True)
        return None
    refusal = event_registrations.can_register(event, resident)
    if refusal is not None:
        await query.answer(view.refusal_text(refusal), show_alert=True)
        return None
    return event, resident


async def register_pressed(
    query: CallbackQuery,
    callback_data: EventRegisterCb,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
) -> None:
    """First tap: the summary to confirm, with the choice of showing the name."""
    found = await _registrable(query, session, callback_data.event, resident)
    if found is None:
        return
    event, _resident = found
    await query.answer()
    left = await events.places_left(session, event)
    name = view.display_name(query.from_user.first_name, query.from_user.last_name)
    await replace_prompt(
        query,
        view.confirm_text(event, left, name, settings.tz, i18n.current_locale),
        view.confirm_keyboard(event.id),
    )


async def _draft(state: FSMContext) -> dict[str, Any] | None:
    """A copy of the registration being filled in (changing the stored one in place would
    hide the change from the storage)."""
    draft = (await state.get_data()).get(DRAFT_KEY)
    return copy.deepcopy(draft) if isinstance(draft, dict) else None


async def _save_draft(state: FSMContext, draft: dict[str, Any]) -> None:
    await state.update_data({DRAFT_KEY: copy.deepcopy(draft)})


async def _leave_registering(state: FSMContext) -> None:
    data = await state.get_data()
    data.pop(DRAFT_KEY, None)
    if await state.get_state() in (
        EventRegistering.organization.state,
        EventRegistering.answer.state,
    ):
        await state.set_state(None)
    await state.set_data(data)


@dataclass(frozen=True, slots=True)
class Conversation:
    """Who is registering, where to answer, and the update's tools."""

    bot: Bot
    chat_id: int
    session: AsyncSession
    resident: Resident
    state: FSMContext
    settings: Settings
    i18n: I18n
    notifier: ResidentNotifier | None = None


async def confirm_pressed(
    query: CallbackQuery,
    callback_data: EventConfirmCb,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    notifier: ResidentNotifier | None = None,
) -> None:
    """Second tap: register, or ask the organization and the questions first."""
    draft = await _draft(state)
    if draft is not None and draft.get("event") == callback_data.event:
        await query.answer(_("Please answer the question above first."))
        return
    found = await _registrable(query, session, callback_data.event, resident)
    if found is None:
        return
    event, resident = found
    await query.answer()
    await edit_markup(query, None)
    share = callback_data.share is ShareName.YES
    name = view.display_name(query.from_user.first_name, query.from_user.last_name)
    draft = {
        "event": event.id,
        "share": share,
        "name": name if share else None,
        "organization": None,
        "answers": {},
        "position": 0,  # the question being answered (0: none yet)
    }
    bot: Bot = query.bot  # type: ignore[assignment]
    talk = Conversation(bot, query.from_user.id, session, resident, state, settings, i18n, notifier)
    await _next_step(talk, event, draft)


async def _next_step(talk: Conversation, event: Event, draft: dict[str, Any]) -> None:
    """Ask what is still missing (organization, then the questions in order), or register."""
    if event.per_organization_quota is not None and not draft.get("organization"):
        await _save_draft(talk.state, draft)
        await talk.state.set_state(EventRegistering.organization)
        await talk.bot.send_message(
            talk.chat_id,
            view.organization_prompt(event),
            reply_markup=view.stop_keyboard(event.id),
        )
        return
    position = int(draft.get("position") or 0)
    question = next((q for q in event.questions if q.position > position), None)
    if question is not None:
        draft["position"] = question.position
        await _save_draft(talk.state, draft)
        await talk.state.set_state(EventRegistering.answer)
        await talk.bot.send_message(
            talk.chat_id,
            view.question_prompt(event, question, talk.i18n.current_locale),
            reply_markup=view.question_keyboard(event.id, question.position),
        )
        return
    await _leave_registering(talk.state)
    await _register(talk, event, draft)


async def _register(talk: Conversation, event: Event, draft: dict[str, Any]) -> None:
    data = await talk.state.get_data()
    link = data.get(SOURCE_KEY)
    source = None
    if isinstance(link, dict) and link.get("event") == event.id:
        source = str(link.get("src") or "") or None
        data.pop(SOURCE_KEY, None)
        await talk.state.set_data(data)
    answers = {int(key): str(value) for key, value in (draft.get("answers") or {}).items()}
    result = await event_registrations.register(
        talk.session,
        event.id,
        talk.resident,
        organization=draft.get("organization"),
        answers=answers,
        source=source,
        share_name=bool(draft.get("share")),
        display_name=draft.get("name"),
    )
    await _registered(talk, result)


async def _registered(talk: Conversation, result: RegistrationResult) -> None:
    bot, chat_id, locale = talk.bot, talk.chat_id, talk.i18n.current_locale
    event, registration = result.event, result.registration
    if result.outcome is RegistrationOutcome.REFUSED or event is None or registration is None:
        await bot.send_message(chat_id, view.refusal_text(result.refusal))
        return
    if result.outcome is RegistrationOutcome.ALREADY:
        await bot.send_message(chat_id, view.already_text(registration.status, result.position))
    elif result.outcome is RegistrationOutcome.WAITLISTED:
        await bot.send_message(chat_id, view.waitlisted_text(event, result.position, locale))
    else:
        send = _confirmation(
            bot, chat_id, event, registration, settings=talk.settings, locale=locale
        )
        after_commit(talk.session, send)
    await _tell_offered(
        bot,
        talk.session,
        result.offered,
        i18n=talk.i18n,
        settings=talk.settings,
        notifier=talk.notifier,
    )
    await _tell_thresholds(
        bot, talk.session, event, result.thresholds, i18n=talk.i18n, settings=talk.settings
    )


async def text_typed(
    message: Message,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    notifier: ResidentNotifier | None = None,
) -> None:
    """The organization's name or a question's answer, as the conversation waits for."""
    assert message.text is not None and message.bot is not None
    draft = await _draft(state)
    event = await events.get_event(session, int(draft["event"])) if draft else None
    if draft is None or event is None or resident is None:
        await _leave_registering(state)
        await message.answer(view.refusal_text(Refusal.NOT_FOUND))
        return
    locale = i18n.current_locale
    if await state.get_state() == EventRegistering.organization.state:
        text, limit = " ".join(message.text.split()), ORGANIZATION_MAX_LENGTH
    else:
        text, limit = message.text.strip(), ANSWER_MAX_LENGTH
    if len(text) > limit:
        await message.answer(view.too_long_text(len(text), limit, locale))
        return
    if await state.get_state() == EventRegistering.organization.state:
        draft["organization"] = text
    else:
        question = next((q for q in event.questions if q.position == draft.get("position")), None)
        if question is None:
            await _leave_registering(state)
            await message.answer(view.refusal_text(Refusal.BAD_ANSWERS))
            return
        draft["answers"][str(question.id)] = text
    talk = Conversation(
        message.bot, message.chat.id, session, resident, state, settings, i18n, notifier
    )
    await _next_step(talk, event, draft)


async def not_text(message: Message) -> None:
    await message.answer(view.text_expected())


async def question_skipped(
    query: CallbackQuery,
    callback_data: QuestionSkipCb,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
    notifier: ResidentNotifier | None = None,
) -> None:
    draft = await _draft(state)
    if (
        draft is None
        or resident is None
        or draft.get("event") != callback_data.event
        or draft.get("position") != callback_data.position
        or await state.get_state() != EventRegistering.answer.state
    ):
        await query.answer(view.stale_text())
        return
    event = await events.get_event(session, callback_data.event)
    if event is None:
        await _leave_registering(state)
        await query.answer(view.refusal_text(Refusal.NOT_FOUND), show_alert=True)
        return
    await query.answer()
    await edit_markup(query, None)
    bot: Bot = query.bot  # type: ignore[assignment]
    talk = Conversation(bot, query.from_user.id, session, resident, state, settings, i18n, notifier)
    await _next_step(talk, event, draft)


async def registration_stopped(
    query: CallbackQuery, callback_data: RegistrationStopCb, state: FSMContext
) -> None:
    draft = await _draft(state)
    if draft is not None and draft.get("event") == callback_data.event:
        await _leave_registering(state)
    await query.answer()
    await replace_prompt(query, view.registration_stopped())


# -- the resident's registrations, cancelling, offers -----------------------------------------


async def mine_pressed(
    query: CallbackQuery,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
) -> None:
    if not await _onboarded(query, resident):
        return
    assert resident is not None
    await query.answer()
    items = await event_registrations.my_registrations(session, resident)
    if not items:
        await send_to_chat(query, text=view.no_registrations_text())
        return
    await send_to_chat(
        query,
        text=view.my_registrations_text(items, settings.tz, i18n.current_locale),
        reply_markup=view.my_registrations_keyboard(items),
    )


async def cancel_pressed(
    query: CallbackQuery,
    callback_data: RegistrationCancelCb,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
    notifier: ResidentNotifier | None = None,
) -> None:
    registration = (
        await event_registrations.get_registration(session, callback_data.registration, resident)
        if resident is not None
        else None
    )
    event = await events.get_event(session, registration.event_id) if registration else None
    if registration is None or event is None:
        await query.answer(view.refusal_text(Refusal.NOT_FOUND), show_alert=True)
        return
    step = callback_data.step
    if registration.status not in ACTIVE_STATUSES:
        await query.answer(view.already_cancelled_text())
        return
    if step is CancelStep.KEEP:
        await query.answer()
        await replace_prompt(query, view.kept_text(event))
        return
    if step is CancelStep.ASK:
        if event.status is EventStatus.CANCELLED:
            await query.answer(view.refusal_text(Refusal.EVENT_CANCELLED), show_alert=True)
            return
        if event.starts_at <= utcnow():
            await query.answer(view.refusal_text(Refusal.EVENT_STARTED), show_alert=True)
            return
        await query.answer()
        await send_to_chat(
            query,
            text=view.cancel_question(event, registration.status, settings.tz, i18n.current_locale),
            reply_markup=view.cancel_keyboard(registration.id),
        )
        return
    assert resident is not None
    result = await event_registrations.cancel_registration(
        session, registration.id, resident=resident
    )
    if result.outcome is CancelOutcome.ALREADY:
        await query.answer(view.already_cancelled_text())
        return
    if result.outcome is CancelOutcome.REFUSED:
        await query.answer(view.refusal_text(result.refusal), show_alert=True)
        return
    await query.answer()
    await replace_prompt(query, view.cancelled_text(event))
    await _tell_offered(
        query.bot,  # type: ignore[arg-type]
        session,
        result.offered,
        i18n=i18n,
        settings=settings,
        notifier=notifier,
    )


async def offer_pressed(
    query: CallbackQuery,
    callback_data: OfferCb,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
    notifier: ResidentNotifier | None = None,
) -> None:
    if resident is None:
        await query.answer(view.refusal_text(Refusal.NOT_FOUND), show_alert=True)
        return
    bot: Bot = query.bot  # type: ignore[assignment]
    if callback_data.answer is OfferAnswer.ACCEPT:
        result = await event_registrations.accept_offer(
            session, callback_data.registration, resident
        )
    else:
        result = await event_registrations.decline_offer(
            session, callback_data.registration, resident
        )
    event, registration = result.event, result.registration
    await _tell_offered(
        bot, session, result.offered, i18n=i18n, settings=settings, notifier=notifier
    )
    if result.outcome is OfferOutcome.ALREADY and registration is not None:
        if registration.status is RegistrationStatus.REGISTERED:
            await query.answer(view.already_text(registration.status, None))
        else:
            await query.answer(view.refusal_text(Refusal.NO_OFFER))
        return
    if result.outcome is OfferOutcome.REFUSED or event is None or registration is None:
        await query.answer(view.refusal_text(result.refusal), show_alert=True)
        if result.refusal is Refusal.OFFER_EXPIRED:
            await edit_markup(query, None)
            await send_to_chat(query, text=view.refusal_text(result.refusal))
        return
    await query.answer()
    await edit_markup(query, None)
    if result.outcome is OfferOutcome.DECLINED:
        await send_to_chat(query, text=view.declined_text(event))
        return
    send = _confirmation(
        bot, query.from_user.id, event, registration, settings=settings, locale=i18n.current_locale
    )
    after_commit(session, send)


def create_router() -> Router:
    router = Router(name="events")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.callback_query.register(list_pressed, EventListCb.filter())
    router.callback_query.register(event_opened, EventOpenCb.filter())
    router.callback_query.register(register_pressed, EventRegisterCb.filter())
    router.callback_query.register(confirm_pressed, EventConfirmCb.filter())
    router.callback_query.register(question_skipped, QuestionSkipCb.filter())
    router.callback_query.register(registration_stopped, RegistrationStopCb.filter())
    router.callback_query.register(mine_pressed, EventMineCb.filter())
    router.callback_query.register(cancel_pressed, RegistrationCancelCb.filter())
    router.callback_query.register(offer_pressed, OfferCb.filter())
    router.message.register(
        text_typed,
        StateFilter(EventRegistering.organization, EventRegistering.answer),
        typed_answer,
    )
    router.message.register(
        not_text,
        StateFilter(EventRegistering.organization, EventRegistering.answer),
        F.text.is_(None),
    )
    return router
