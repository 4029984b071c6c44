"""Residents' proposals in Telegram: "Pateikti pasiūlymą" step by step (topic, municipality,
place or location, the text, up to five photos, name or pseudonym, the summary to confirm)
and "Mano pasiūlymai".

The draft lives in the conversation state (FSM data, kept across restarts). A button is
valid only at its step: an old or forged one is answered as no longer active and changes
nothing, so a double tap on "Pateikti" submits once. The moderators' card goes out after
the commit (:mod:`bot.channels.telegram.proposal_cards`).
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import proposal_cards as cards
from bot.channels.telegram import proposal_view as view
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.callbacks import MunicipalityCb, Purpose
from bot.channels.telegram.filters import typed_answer
from bot.channels.telegram.keyboards import municipality_keyboard
from bot.channels.telegram.proposal_callbacks import (
    OPEN_LIST,
    ConfirmStep,
    MunicipalityStep,
    ProposalCategoryCb,
    ProposalConfirmCb,
    ProposalMineCb,
    ProposalMunicipalityCb,
    ProposalNameCb,
    ProposalPhotosCb,
    ProposalSkipPlaceCb,
    ShareName,
)
from bot.channels.telegram.replies import edit_markup, replace_prompt, send_to_chat
from bot.config import Settings
from bot.services import municipalities, proposal_relay
from bot.services import proposals as service
from bot.services.proposals import ProposalError, ProposalProblem, ProposalSpec
from models import Proposal, Resident, utcnow
from models.proposals import (
    MAX_PHOTOS,
    PLACE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    TEXT_MIN_LENGTH,
)

logger = logging.getLogger(__name__)

KEY = "proposal"


class ProposalForm(StatesGroup):
    topic = State()
    municipality = State()
    place = State()
    text = State()
    photos = State()
    name = State()
    confirm = State()


async def _draft(state: FSMContext) -> dict[str, Any]:
    data = await state.get_data()
    draft = data.get(KEY)
    return dict(draft) if isinstance(draft, dict) else {}


async def _save(state: FSMContext, draft: dict[str, Any], step: State) -> None:
    await state.update_data({KEY: draft})
    await state.set_state(step)


async def _finish(state: FSMContext) -> None:
    data = await state.get_data()
    data.pop(KEY, None)
    await state.set_state(None)
    await state.set_data(data)


async def _at(query: CallbackQuery, state: FSMContext, step: State) -> dict[str, Any] | None:
    """The draft when the pressed button belongs to the step it is at; else answered stale."""
    if await state.get_state() != step.state:
        await query.answer(view.stale_button())
        return None
    await query.answer()
    return await _draft(state)


async def _refusal(session: AsyncSession, resident: Resident, settings: Settings) -> str | None:
    """Why the resident cannot submit now (checked again when submitting)."""
    block = await service.active_block(session, resident.id)
    if block is not None:
        return view.blocked(block.reason)
    limit = settings.proposal.daily_limit
    if await service.submitted_today(session, resident.id, utcnow()) >= limit:
        return view.daily_limit(limit)
    return None


def _display_name(user: User | None) -> str | None:
    if user is None:
        return None
    name = " ".join(part for part in (user.first_name, user.last_name) if part).strip()
    return name or None


# --- the steps --------------------------------------------------------------------------


async def start(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
) -> None:
    """The main menu's "Pateikti pasiūlymą": a new draft and its first question."""
    refusal = await _refusal(session, resident, settings)
    if refusal is not None:
        await _finish(state)
        await message.answer(refusal, reply_markup=view.my_proposals_entry())
        return
    await _save(state, {}, ProposalForm.topic)
    await message.answer(
        view.topic_prompt(), reply_markup=view.topic_keyboard(settings.proposal.categories)
    )


async def topic_chosen(
    query: CallbackQuery,
    callback_data: ProposalCategoryCb,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await _at(query, state, ProposalForm.topic)
    if draft is None:
        return
    if callback_data.category not in settings.proposal.categories:
        await send_to_chat(query, text=view.stale_button())
        return
    draft["category"] = callback_data.category
    await _save(state, draft, ProposalForm.municipality)
    await edit_markup(query, None)
    own = resident.municipality
    if own is None or not own.is_active:
        await _other_municipalities(query, session, i18n)
        return
    name = own.short_name(i18n.current_locale)
    await send_to_chat(
        query,
        text=view.municipality_question(name),
        reply_markup=view.municipality_keyboard(name),
    )


async def _other_municipalities(query: CallbackQuery, session: AsyncSession, i18n: I18n) -> None:
    active = await municipalities.list_active(session, i18n.current_locale)
    await replace_prompt(
        query,
        view.choose_municipality(),
        municipality_keyboard(active, i18n.current_locale, Purpose.PROPOSAL),
    )


async def municipality_step(
    query: CallbackQuery,
    callback_data: ProposalMunicipalityCb,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    i18n: I18n,
) -> None:
    draft = await _at(query, state, ProposalForm.municipality)
    if draft is None:
        return
    if callback_data.step is MunicipalityStep.OTHER:
        await _other_municipalities(query, session, i18n)
        return
    await _municipality_set(query, state, session, draft, resident.municipality_id)


async def municipality_chosen(
    query: CallbackQuery,
    callback_data: MunicipalityCb,
    state: FSMContext,
    session: AsyncSession,
) -> None:
    draft = await _at(query, state, ProposalForm.municipality)
    if draft is None:
        return
    await _municipality_set(query, state, session, draft, callback_data.id)


async def _municipality_set(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    draft: dict[str, Any],
    municipality_id: int | None,
) -> None:
    found = (
        await municipalities.get_active_by_id(session, municipality_id)
        if municipality_id is not None
        else None
    )
    if found is None:
        await send_to_chat(query, text=view.municipality_unavailable())
        return
    draft["municipality_id"] = found.id
    await _save(state, draft, ProposalForm.place)
    await edit_markup(query, None)
    await send_to_chat(query, text=view.place_prompt(), reply_markup=view.place_keyboard())


async def place_typed(message: Message, state: FSMContext) -> None:
    place = (message.text or "").strip()
    if len(place) > PLACE_MAX_LENGTH:
        await message.answer(view.place_too_long(), reply_markup=view.place_keyboard())
        return
    draft = await _draft(state)
    draft.update(place_text=place or None, latitude=None, longitude=None)
    await _ask_text(message, state, draft)


async def place_located(message: Message, state: FSMContext) -> None:
    assert message.location is not None
    draft = await _draft(state)
    draft.update(
        place_text=None,
        latitude=message.location.latitude,
        longitude=message.location.longitude,
    )
    await _ask_text(message, state, draft)


async def place_skipped(query: CallbackQuery, state: FSMContext) -> None:
    draft = await _at(query, state, ProposalForm.place)
    if draft is None:
        return
    draft.update(place_text=None, latitude=None, longitude=None)
    await edit_markup(query, None)
    await _ask_text(query, state, draft)


async def _ask_text(
    target: Message | CallbackQuery, state: FSMContext, draft: dict[str, Any]
) -> None:
    await _save(state, draft, ProposalForm.text)
    if isinstance(target, Message):
        await target.answer(view.text_prompt())
    else:
        await send_to_chat(target, text=view.text_prompt())


async def text_typed(message: Message, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if len(text) < TEXT_MIN_LENGTH:
        await message.answer(view.text_too_short(len(text)))
        return
    if len(text) > TEXT_MAX_LENGTH:
        await message.answer(view.text_too_long(len(text)))
        return
    draft = await _draft(state)
    draft.update(text=text, photos=[])
    await _save(state, draft, ProposalForm.photos)
    await message.answer(view.photos_prompt(), reply_markup=view.photos_keyboard(0))


async def photo_sent(message: Message, state: FSMContext) -> None:
    assert message.photo
    draft = await _draft(state)
    photos: list[list[str | None]] = list(draft.get("photos") or [])
    if len(photos) >= MAX_PHOTOS:
        await message.answer(view.too_many_photos(), reply_markup=view.photos_keyboard(len(photos)))
        return
    largest = message.photo[-1]
    photos.append([largest.file_id, largest.file_unique_id])
    draft["photos"] = photos
    await _save(state, draft, ProposalForm.photos)
    await message.answer(
        view.photo_added(len(photos)), reply_markup=view.photos_keyboard(len(photos))
    )


async def photos_done(
    query: CallbackQuery, state: FSMContext, event_from_user: User | None = None
) -> None:
    draft = await _at(query, state, ProposalForm.photos)
    if draft is None:
        return
    await _save(state, draft, ProposalForm.name)
    await edit_markup(query, None)
    await send_to_chat(
        query,
        text=view.name_question(_display_name(event_from_user)),
        reply_markup=view.name_keyboard(),
    )


async def name_chosen(
    query: CallbackQuery,
    callback_data: ProposalNameCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
    event_from_user: User | None = None,
) -> None:
    draft = await _at(query, state, ProposalForm.name)
    if draft is None:
        return
    share = callback_data.share is ShareName.YES
    draft["display_name"] = _display_name(event_from_user) if share else None
    await _save(state, draft, ProposalForm.confirm)
    municipality = await municipalities.get_active_by_id(session, int(draft["municipality_id"]))
    await replace_prompt(
        query,
        view.summary(
            category=str(draft["category"]),
            municipality=municipality.short_name(i18n.current_locale) if municipality else "–",
            place=draft.get("place_text"),
            located=draft.get("latitude") is not None,
            text=str(draft["text"]),
            photos=len(draft.get("photos") or []),
            shown_name=draft["display_name"],
        ),
        view.confirm_keyboard(),
    )


async def confirm_pressed(
    query: CallbackQuery,
    callback_data: ProposalConfirmCb,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
) -> None:
    draft = await _at(query, state, ProposalForm.confirm)
    if draft is None:
        return
    if callback_data.step is ConfirmStep.CANCEL:
        await _finish(state)
        await replace_prompt(query, view.cancelled())
        return
    if callback_data.step is ConfirmStep.EDIT:
        await _save(state, draft, ProposalForm.topic)
        await edit_markup(query, None)
        await send_to_chat(
            query,
            text=view.topic_prompt(),
            reply_markup=view.topic_keyboard(settings.proposal.categories),
        )
        return
    try:
        result = await service.submit(
            session,
            resident,
            ProposalSpec.from_draft(draft),
            daily_limit=settings.proposal.daily_limit,
            categories=settings.proposal.categories,
        )
    except ProposalError as exc:
        logger.info("proposal draft of resident %s refused: %s", resident.id, exc.problem)
        await _finish(state)
        text = (
            view.municipality_unavailable()
            if exc.problem is ProposalProblem.UNKNOWN_MUNICIPALITY
            else view.draft_lost()
        )
        await replace_prompt(query, text)
        return
    await _finish(state)
    if result.proposal is None:
        text = view.submit_refusal(result, settings.proposal.daily_limit)
        await replace_prompt(query, text)
        return
    reference, proposal_id = result.proposal.reference, result.proposal.id
    logger.info("resident %s submitted proposal %s", resident.id, proposal_id)
    # The card goes to the moderators' chat (or the admins hear that none is bound).
    after_commit(
        session,
        lambda: cards.after_submission(bot, session_factory, i18n, settings, proposal_id),
    )
    await replace_prompt(
        query,
        view.submitted(reference)
        if result.chat_id is not None
        else view.submitted_no_moderators(reference),
    )


# --- wrong input in a step --------------------------------------------------------------


async def not_text(message: Message) -> None:
    await message.answer(view.write_text_please())


async def not_a_place(message: Message) -> None:
    await message.answer(view.place_please(), reply_markup=view.place_keyboard())


async def not_photo(message: Message) -> None:
    await message.answer(view.send_photo_please())


async def use_buttons(message: Message) -> None:
    await message.answer(view.use_buttons_please())


# --- the resident's replies to the moderators --------------------------------------------


async def in_conversation(
    message: Message, session: AsyncSession, resident: Resident | None = None
) -> dict[str, Proposal] | bool:
    """Typed text of a registered resident outside any dialogue that answers a proposal: a
    reply to a relayed moderators' message, or the next text while one waits for
    information."""
    if resident is None or not resident.is_onboarded or not typed_answer(message):
        return False
    replied = message.reply_to_message
    proposal = await proposal_relay.open_conversation(
        session,
        resident.id,
        reply_to_message_id=str(replied.message_id) if replied is not None else None,
    )
    return {"proposal": proposal} if proposal is not None else False


async def reply_to_moderators(
    message: Message,
    proposal: Proposal,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    i18n: I18n,
) -> None:
    relayed = await proposal_relay.record_resident_reply(
        session, proposal, message.text or "", resident_message_id=str(message.message_id)
    )
    message_id = relayed.message.id
    logger.info("proposal %s: the resident replied (message %s)", proposal.id, message_id)
    after_commit(
        session,
        lambda: cards.relay_resident_reply(bot, session_factory, i18n, settings, message_id),
    )
    await message.answer(view.reply_relayed(proposal.reference))


# --- Mano pasiūlymai --------------------------------------------------------------------


async def mine_pressed(
    query: CallbackQuery,
    callback_data: ProposalMineCb,
    session: AsyncSession,
    resident: Resident | None,
    settings: Settings,
    i18n: I18n,
) -> None:
    await query.answer()
    if resident is None or not resident.is_onboarded:
        await send_to_chat(query, text=view.not_onboarded())
        return
    items = await service.my_proposals(session, resident.id)
    if not items:
        await send_to_chat(query, text=view.no_proposals())
        return
    pages = max(1, -(-len(items) // view.PROPOSALS_PER_PAGE))
    page = min(max(callback_data.page, 0), pages - 1)
    shown = items[page * view.PROPOSALS_PER_PAGE : (page + 1) * view.PROPOSALS_PER_PAGE]
    text = view.my_proposals_text(shown, page, len(items), settings.tz, i18n.current_locale)
    markup = view.my_proposals_keyboard(page, len(items))
    if callback_data.page == OPEN_LIST:
        await send_to_chat(query, text=text, reply_markup=markup)
    else:
        await replace_prompt(query, text, markup)


def _wrong_kind(message: Message) -> bool:
    """Not what the step asks for: anything but a command or a main-menu button (those keep
    their meaning during the dialogue)."""
    return message.text is None or typed_answer(message)


def create_router() -> Router:
    router = Router(name="proposals")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    form = ProposalForm
    cb = router.callback_query.register
    cb(topic_chosen, ProposalCategoryCb.filter())
    cb(municipality_step, ProposalMunicipalityCb.filter())
    cb(municipality_chosen, MunicipalityCb.filter(F.purpose == Purpose.PROPOSAL))
    cb(place_skipped, ProposalSkipPlaceCb.filter())
    cb(photos_done, ProposalPhotosCb.filter())
    cb(name_chosen, ProposalNameCb.filter())
    cb(confirm_pressed, ProposalConfirmCb.filter())
    cb(mine_pressed, ProposalMineCb.filter())
    msg = router.message.register
    msg(place_typed, StateFilter(form.place), typed_answer)
    msg(place_located, StateFilter(form.place), F.location)
    msg(text_typed, StateFilter(form.text), typed_answer)
    msg(not_a_place, StateFilter(form.place), ~F.text)
    msg(not_text, StateFilter(form.text), ~F.text)
    msg(photo_sent, StateFilter(form.photos), F.photo)
    msg(not_photo, StateFilter(form.photos), _wrong_kind)
    msg(
        use_buttons,
        StateFilter(form.topic, form.municipality, form.name, form.confirm),
        _wrong_kind,
    )
    router.message.register(reply_to_moderators, StateFilter(None), in_conversation)
    return router
