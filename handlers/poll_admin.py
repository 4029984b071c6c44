"""Organizers create polls step by step (/newpoll) and manage them (/polls).

Organizers only, in a private chat. Steps: question → how residents answer → options (for
choice questions) → audience → opening → closing → who sees the results → summary →
create. Every button carries the draft's id, so a button of an earlier draft (or a forged
one) changes nothing; "Create" ends the conversation in the same transaction that creates
the poll, so a double tap creates one poll. A poll opening now gets its invitation
broadcast in that transaction too.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import poll_admin as view
from bot.channels.telegram.after_commit import after_commit
from bot.channels.telegram.announcing import (
    parse_local_moment,
    time_in_the_past,
    time_not_understood,
)
from bot.channels.telegram.audience_picker import AudienceCb
from bot.channels.telegram.filters import is_organizer, typed_text
from bot.channels.telegram.poll_admin import NewPollCb, PollDraft, PollManageCb
from bot.channels.telegram.poll_jobs import PollJobs, create_invitation
from bot.channels.telegram.replies import replace_prompt, send_to_chat
from bot.config import Settings
from bot.delivery.engine import DeliveryEngine
from bot.services import audiences, polls
from bot.services.polls import PollError, PollProblem, QuestionSpec
from handlers import audience_picker
from handlers.audience_picker import AudienceStep, Drafts, ask
from models import MessageCategory, PollStatus, QuestionKind, ResultsVisibility, utcnow
from models.polls import OPTION_MAX_LENGTH


class NewPoll(StatesGroup):
    question = State()
    kind = State()
    options = State()
    audience = State()
    opening = State()
    closing = State()
    visibility = State()
    confirm = State()


DRAFTS = Drafts(PollDraft)
AUDIENCE = AudienceStep(view.AUDIENCE, DRAFTS, NewPoll.audience, MessageCategory.POLL)


async def _lost(message: Message, state: FSMContext) -> None:
    await DRAFTS.stop(message, state, view.lost_text())


def _wake_after_commit(session: AsyncSession, delivery: DeliveryEngine) -> None:
    event.listen(session.sync_session, "after_commit", lambda _s: delivery.wake(), once=True)


async def _answered(query: CallbackQuery, state: FSMContext, draft: PollDraft, shown: str) -> None:
    """A button answered the step: keep the draft, and leave ``shown`` (the question with
    the answer, no buttons) in the message."""
    await DRAFTS.save(state, draft)
    await query.answer()
    await replace_prompt(query, shown)


# -- start, stop, refuse ----------------------------------------------------------------------


async def new_poll(message: Message, state: FSMContext) -> None:
    await DRAFTS.start(message, state, NewPoll.question, view.question_prompt())


async def refuse(message: Message) -> None:
    await message.answer(_("Sorry, only organizers can do this."))


async def cancel_creating(message: Message, state: FSMContext) -> None:
    await DRAFTS.stop(message, state, view.discarded_text())


async def text_expected(message: Message) -> None:
    await message.answer(_("Please answer with text."))


async def buttons_expected(message: Message) -> None:
    await message.answer(_("Please answer by pressing one of the buttons."))


# -- question, kind, options --------------------------------------------------------------------


def _check_question(text: str) -> None:
    now = utcnow()
    polls.validate(
        title=None,
        questions=[QuestionSpec(text, QuestionKind.TEXT)],
        opens_at=now,
        closes_at=now + polls.DEFAULT_DURATION,
        now=now,
    )


async def question_received(message: Message, state: FSMContext) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    text = message.text.strip()
    try:
        _check_question(text)
    except PollError as error:
        await message.answer(view.problem_text(error))
        return
    draft.question = text
    await DRAFTS.save(state, draft)
    await state.set_state(NewPoll.kind)
    await message.answer(view.kind_prompt(draft), reply_markup=view.kind_keyboard(draft))


async def kind_chosen(
    query: CallbackQuery,
    callback_data: NewPollCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.kind = QuestionKind(callback_data.action).value
    draft.options = []
    await _answered(query, state, draft, view.kind_chosen(draft))
    if draft.question_kind in polls.CHOICE_KINDS:
        await state.set_state(NewPoll.options)
        await send_to_chat(query, text=view.options_prompt())
    else:
        await AUDIENCE.show(query, state, session, i18n.current_locale, draft)


def _added_options(existing: list[str], text: str) -> list[str]:
    """The options of one message (one per line) after the existing ones; PollError if any
    is wrong (then none is added)."""
    result = list(existing)
    seen = {option.casefold() for option in existing}
    for line in text.splitlines():
        option = " ".join(line.split())
        if not option:
            continue
        result.append(option)
        number = len(result)
        if len(result) > polls.MAX_OPTIONS:
            raise PollError(PollProblem.TOO_MANY_OPTIONS, limit=polls.MAX_OPTIONS)
        if len(option) > OPTION_MAX_LENGTH:
            raise PollError(PollProblem.OPTION_TOO_LONG, option=number, limit=OPTION_MAX_LENGTH)
        if option.casefold() in seen:
            raise PollError(PollProblem.DUPLICATE_OPTION, option=number)
        seen.add(option.casefold())
    if len(result) == len(existing):
        raise PollError(PollProblem.OPTION_EMPTY, option=len(result) + 1)
    return result


async def options_received(message: Message, state: FSMContext) -> None:
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return
    try:
        draft.options = _added_options(draft.options, message.text)
    except PollError as error:
        await message.answer(view.problem_text(error))
        return
    await DRAFTS.save(state, draft)
    await message.answer(view.options_status(draft), reply_markup=view.options_keyboard(draft))


async def options_done(
    query: CallbackQuery,
    callback_data: NewPollCb,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    if len(draft.options) < polls.MIN_OPTIONS:
        await query.answer()
        await send_to_chat(
            query,
            text=view.problem_text(PollError(PollProblem.TOO_FEW_OPTIONS, limit=polls.MIN_OPTIONS)),
        )
        return
    await query.answer()
    await replace_prompt(query, view.options_status(draft).rsplit("\n\n", 1)[0])
    await AUDIENCE.show(query, state, session, i18n.current_locale, draft)


# -- audience (the buttons: handlers/audience_picker.py) ---------------------------------------


async def audience_chosen(
    query: CallbackQuery,
    callback_data: AudienceCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await AUDIENCE.chosen(query, callback_data, state, session, i18n.current_locale)
    if draft is not None:
        await _ask_opening(query, state, draft, settings)


# -- opening, closing, visibility ------------------------------------------------------------------


async def _ask_opening(
    query: CallbackQuery, state: FSMContext, draft: PollDraft, settings: Settings
) -> None:
    await state.set_state(NewPoll.opening)
    await ask(query, view.opening_prompt(utcnow(), settings.tz), view.opening_keyboard(draft))


async def _ask_closing(
    target: Message | CallbackQuery,
    state: FSMContext,
    draft: PollDraft,
    settings: Settings,
    locale: str,
) -> None:
    await state.set_state(NewPoll.closing)
    prompt = view.closing_prompt(draft, utcnow(), settings.tz, locale)
    await ask(target, prompt, view.closing_keyboard(draft))


async def _ask_visibility(
    target: Message | CallbackQuery, state: FSMContext, draft: PollDraft
) -> None:
    await state.set_state(NewPoll.visibility)
    await ask(target, view.visibility_prompt(), view.visibility_keyboard(draft))


async def _typed_time(
    message: Message, state: FSMContext, settings: Settings
) -> tuple[PollDraft, datetime] | None:
    """The draft and the date and time the organizer wrote; None if the draft is lost or
    the time is not understood (they are asked to write it again)."""
    draft = await DRAFTS.get(state)
    if draft is None or message.text is None:
        await _lost(message, state)
        return None
    moment = parse_local_moment(message.text, settings.tz)
    if moment is None:
        await message.answer(time_not_understood(utcnow(), settings.tz))
        return None
    return draft, moment


async def opening_now(
    query: CallbackQuery,
    callback_data: NewPollCb,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.opens_at = None
    prompt = view.opening_prompt(utcnow(), settings.tz)
    opens = _("Opens: {when}").format(when=_("now"))
    await _answered(query, state, draft, f"{prompt}\n\n{opens}")
    await _ask_closing(query, state, draft, settings, i18n.current_locale)


async def opening_received(
    message: Message, state: FSMContext, settings: Settings, i18n: I18n
) -> None:
    typed = await _typed_time(message, state, settings)
    if typed is None:
        return
    draft, moment = typed
    if moment <= utcnow():
        await message.answer(time_in_the_past())
        return
    draft.opens_at = moment.isoformat()
    await DRAFTS.save(state, draft)
    await _ask_closing(message, state, draft, settings, i18n.current_locale)


async def closing_in_a_week(
    query: CallbackQuery,
    callback_data: NewPollCb,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    draft.closes_at = None
    prompt = view.closing_prompt(draft, utcnow(), settings.tz, i18n.current_locale)
    closes = _("Closes: {when}").format(when=_("one week after it opens"))
    await _answered(query, state, draft, f"{prompt}\n\n{closes}")
    await _ask_visibility(query, state, draft)


async def closing_received(message: Message, state: FSMContext, settings: Settings) -> None:
    typed = await _typed_time(message, state, settings)
    if typed is None:
        return
    draft, moment = typed
    opening = draft.opening or utcnow()
    if moment <= opening:
        problem = PollProblem.CLOSE_BEFORE_OPEN if draft.opening else PollProblem.CLOSE_IN_PAST
        await message.answer(view.problem_text(PollError(problem)))
        return
    draft.closes_at = moment.isoformat()
    await DRAFTS.save(state, draft)
    await _ask_visibility(message, state, draft)


async def visibility_chosen(
    query: CallbackQuery,
    callback_data: NewPollCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    try:
        visibility = ResultsVisibility(callback_data.action.removeprefix("see_"))
    except ValueError:
        await query.answer(_("This button is no longer active."))
        return
    draft.visibility = visibility.value
    shown = view.visibility_prompt() + "\n\n" + view.visibility_label(visibility)
    await _answered(query, state, draft, shown)
    locale = i18n.current_locale
    lines = await AUDIENCE.lines(session, draft, locale)
    await state.set_state(NewPoll.confirm)
    await send_to_chat(
        query,
        text=view.summary_text(draft, lines, utcnow(), settings.tz, locale),
        reply_markup=view.confirm_keyboard(draft),
    )


# -- create or discard --------------------------------------------------------------------------


async def create(
    query: CallbackQuery,
    callback_data: NewPollCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    delivery: DeliveryEngine,
    bot: Bot,
    i18n: I18n,
) -> None:
    draft = await DRAFTS.for_button(query, state, callback_data.draft)
    if draft is None:
        return
    await query.answer()
    locale = i18n.current_locale
    try:
        poll = await polls.create_poll(
            session,
            created_by=query.from_user.id,
            questions=[draft.spec],
            audience=draft.audience,
            opens_at=draft.opening,
            closes_at=draft.closing,
            visibility=ResultsVisibility(draft.visibility),
        )
    except PollError as error:
        # Time passed while the organizer was deciding: ask for the times again.
        await send_to_chat(query, text=view.problem_text(error))
        if error.problem in (PollProblem.CLOSE_IN_PAST, PollProblem.CLOSE_BEFORE_OPEN):
            await _ask_opening(query, state, draft, settings)
        return
    reached = 0
    if poll.status is PollStatus.OPEN:
        username = (await bot.me()).username or ""
        await create_invitation(session, poll, bot_username=username, i18n=i18n, settings=settings)
        reached = await audiences.count(session, draft.audience, MessageCategory.POLL)
        _wake_after_commit(session, delivery)
    await DRAFTS.finish(state)
    summary = view.summary_text(
        draft, await AUDIENCE.lines(session, draft, locale), utcnow(), settings.tz, locale
    )
    await replace_prompt(query, summary)
    await send_to_chat(query, text=view.created_text(poll, reached, settings.tz, locale))


async def discard(query: CallbackQuery, callback_data: NewPollCb, state: FSMContext) -> None:
    await DRAFTS.discard(query, state, callback_data.draft, view.discarded_text())


# -- the organizer's polls ---------------------------------------------------------------------


async def _render_list(
    session: AsyncSession, organizer_id: int, settings: Settings, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    items = await polls.list_for_organizer(session, organizer_id, limit=10)
    return view.polls_text(items, settings.tz, locale), view.polls_keyboard(items)


async def list_polls(
    message: Message, session: AsyncSession, settings: Settings, i18n: I18n
) -> None:
    assert message.from_user is not None
    text, markup = await _render_list(session, message.from_user.id, settings, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def manage(
    query: CallbackQuery,
    callback_data: PollManageCb,
    session: AsyncSession,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    delivery: DeliveryEngine,
) -> None:
    organizer = query.from_user.id
    locale = i18n.current_locale
    closed = False
    try:
        if callback_data.action == "close":
            closed = await polls.close_early(session, callback_data.poll, organizer)
            answer = _("The poll is closed.") if closed else _("This poll is already closed.")
        elif callback_data.action == "cancel":
            done = await polls.cancel(session, callback_data.poll, organizer)
            answer = _("The poll is cancelled.") if done else _("This poll is already cancelled.")
        else:
            answer = _("This button is no longer active.")
    except PollError as error:
        answer = view.problem_text(error)
    await query.answer(answer[:200])
    text, markup = await _render_list(session, organizer, settings, locale)
    await replace_prompt(query, text, markup)
    if closed:
        # Like a poll closing on time: the results text and charts to the organizer, then to
        # the residents who answered. After the commit, so drawing holds no database lock.
        jobs = PollJobs(session_factory, bot, i18n, settings, delivery)
        poll_id = callback_data.poll
        after_commit(session, lambda: jobs.send_results(poll_id))


def create_router() -> Router:
    router = Router(name="poll_admin")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    msg, cb = router.message.register, router.callback_query.register

    msg(new_poll, Command("newpoll"), is_organizer)
    msg(list_polls, Command("polls"), is_organizer)
    msg(refuse, Command("newpoll"))
    msg(cancel_creating, Command("cancel"), StateFilter(NewPoll), is_organizer)

    msg(question_received, NewPoll.question, F.func(typed_text), is_organizer)
    msg(options_received, NewPoll.options, F.func(typed_text), is_organizer)
    msg(opening_received, NewPoll.opening, F.func(typed_text), is_organizer)
    msg(closing_received, NewPoll.closing, F.func(typed_text), is_organizer)
    msg(
        text_expected,
        StateFilter(NewPoll.question, NewPoll.options, NewPoll.opening, NewPoll.closing),
        ~F.text,
        is_organizer,
    )
    msg(
        buttons_expected,
        StateFilter(NewPoll.kind, NewPoll.audience, NewPoll.visibility, NewPoll.confirm),
        ~F.text | F.func(typed_text),
        is_organizer,
    )

    kinds = {kind.value for kind in QuestionKind}
    cb(kind_chosen, NewPoll.kind, NewPollCb.filter(F.action.in_(kinds)), is_organizer)
    cb(options_done, NewPoll.options, NewPollCb.filter(F.action == "done"), is_organizer)

    router.include_router(audience_picker.create_router(AUDIENCE, is_organizer))
    cb(audience_chosen, NewPoll.audience, AUDIENCE.done_filter(), is_organizer)

    cb(opening_now, NewPoll.opening, NewPollCb.filter(F.action == "now"), is_organizer)
    cb(closing_in_a_week, NewPoll.closing, NewPollCb.filter(F.action == "week"), is_organizer)
    cb(
        visibility_chosen,
        NewPoll.visibility,
        NewPollCb.filter(F.action.startswith("see_")),
        is_organizer,
    )
    cb(create, NewPoll.confirm, NewPollCb.filter(F.action == "create"), is_organizer)
    cb(discard, NewPoll.confirm, NewPollCb.filter(F.action == "discard"), is_organizer)

    cb(manage, PollManageCb.filter(), is_organizer)
    return router
