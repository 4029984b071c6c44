"""Residents answer polls and surveys: open one, answer question by question, see the
thank-you and (when allowed) the results.

The service (``bot.services.polls``) keeps one answer per resident per question and the
survey's progress; this module only shows the next question when an answer was *recorded*
for the first time, so a double tap or a repeated update never sends a question twice.
A free-text question waits in the conversation state (``PollAnswering.text``), which lives
in the database: a restart in the middle of a survey loses nothing.
"""

from __future__ import annotations

import html
import logging
import re

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import poll_answering as view
from bot.channels.telegram.filters import typed_answer
from bot.channels.telegram.poll_callbacks import (
    PollChoiceCb,
    PollOpenCb,
    PollScaleCb,
    PollSubmitCb,
    PollToggleCb,
)
from bot.channels.telegram.replies import edit_markup
from bot.config import Settings
from bot.services import polls
from bot.services.polls import AnswerOutcome, AnswerResult, Eligibility, Refusal
from models import Poll, PollQuestion, QuestionKind, Resident

logger = logging.getLogger(__name__)

_POLL_PAYLOAD = re.compile(r"^poll_(\d{1,9})$")
QUESTION_KEY = "poll_question"  # FSM data: the free-text question being answered


class PollAnswering(StatesGroup):
    text = State()  # waiting for a free-text answer


def poll_id_from_payload(payload: str | None) -> int | None:
    """``poll_12`` (a poster's deep link) → 12."""
    match = _POLL_PAYLOAD.match(payload or "")
    return int(match.group(1)) if match else None


# -- showing ---------------------------------------------------------------------------


async def _leave_text_state(state: FSMContext) -> None:
    if await state.get_state() == PollAnswering.text.state:
        data = await state.get_data()
        data.pop(QUESTION_KEY, None)
        await state.set_state(None)
        await state.set_data(data)


async def ask(
    bot: Bot,
    chat_id: int,
    poll: Poll,
    question: PollQuestion,
    *,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    locale: str,
) -> None:
    selected: frozenset[int] = frozenset()
    if question.kind is QuestionKind.MULTIPLE:
        selected = await polls.selected_options(session, question.id, resident)
    elif question.kind in (QuestionKind.SINGLE, QuestionKind.SCALE):
        selected = await polls.current_choice(session, question.id, resident)
    await bot.send_message(
        chat_id,
        view.question_text(poll, question, locale),
        reply_markup=view.question_keyboard(question, selected),
    )
    if question.kind is QuestionKind.TEXT:
        await state.set_state(PollAnswering.text)
        await state.update_data({QUESTION_KEY: question.id})
    else:
        await _leave_text_state(state)


async def _send_results(
    bot: Bot, chat_id: int, poll: Poll, session: AsyncSession, locale: str
) -> None:
    tally = await polls.tally(session, poll.id)
    if tally is not None:
        await bot.send_message(chat_id, view.results_text(tally, locale))


async def _finish(
    bot: Bot,
    chat_id: int,
    poll: Poll,
    *,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    locale: str,
) -> None:
    await _leave_text_state(state)
    await bot.send_message(chat_id, view.thanks_text(poll, locale, poll.closes_at, settings.tz))
    if polls.results_visible(poll, answered=True):
        await _send_results(bot, chat_id, poll, session, locale)


async def _continue(
    bot: Bot,
    chat_id: int,
    poll: Poll,
    result: AnswerResult,
    *,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    settings: Settings,
    locale: str,
) -> None:
    """After a first answer: the next question (the service chose it), or the thank-you."""
    question = next((q for q in poll.questions if q.id == result.next_question_id), None)
    if question is None:
        await _finish(
            bot, chat_id, poll, session=session, state=state, settings=settings, locale=locale
        )
    else:
        await ask(
            bot,
            chat_id,
            poll,
            question,
            session=session,
            resident=resident,
            state=state,
            locale=locale,
        )


async def open_poll(
    bot: Bot,
    chat_id: int,
    poll_id: int,
    *,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    locale: str,
) -> None:
    """Show the poll's current question (from the list, an invitation or a deep link)."""
    poll = await polls.get_poll(session, poll_id)
    if poll is None:
        await bot.send_message(chat_id, view.refusal_text(Refusal.NOT_FOUND))
        return
    if resident is None:
        await bot.send_message(chat_id, view.refusal_text(Refusal.NOT_ONBOARDED))
        return
    allowed = polls.eligibility(poll, resident)
    if allowed is not Eligibility.OK:
        await bot.send_message(chat_id, view.refusal_text(Refusal(allowed.value)))
        if allowed is Eligibility.CLOSED:
            progress = await polls.progress_of(session, poll.id, resident)
            answered = progress is not None and progress.first_answer_at is not None
            if polls.results_visible(poll, answered=answered):
                await _send_results(bot, chat_id, poll, session, locale)
        return
    question = await polls.next_question(session, poll, resident)
    if question is None:
        await bot.send_message(chat_id, view.completed_text(poll))
        if poll.is_survey:
            await _leave_text_state(state)
            if polls.results_visible(poll, answered=True):
                await _send_results(bot, chat_id, poll, session, locale)
            return
        question = poll.questions[0]  # a one-question poll: the answer may be changed
    elif poll.is_survey:
        progress = await polls.progress_of(session, poll.id, resident)
        if progress is None or progress.first_answer_at is None:
            await bot.send_message(chat_id, view.intro_text(poll, locale))
    await ask(
        bot, chat_id, poll, question, session=session, resident=resident, state=state, locale=locale
    )


# -- buttons ---------------------------------------------------------------------------


async def _refuse(query: CallbackQuery, refusal: Refusal | None) -> None:
    stale = refusal in (Refusal.WRONG_OPTION, Refusal.WRONG_KIND, Refusal.OUT_OF_RANGE)
    await query.answer(
        view.refusal_text(refusal), show_alert=not stale and refusal is not Refusal.EMPTY
    )


async def _question_of(session: AsyncSession, result: AnswerResult) -> tuple[Poll, PollQuestion]:
    assert result.poll_id is not None and result.question_id is not None
    poll = result.poll or await polls.get_poll(session, result.poll_id)
    assert poll is not None
    question = next(q for q in poll.questions if q.id == result.question_id)
    return poll, question


async def _answered(
    query: CallbackQuery,
    result: AnswerResult,
    selected: frozenset[int],
    *,
    session: AsyncSession,
    resident: Resident,
    state: FSMContext,
    settings: Settings,
    locale: str,
) -> None:
    """The outcome of a button answer: the question's buttons redrawn with ``selected``
    marked ✓ (option ids, or the scale value), a new question only for a first answer."""
    if result.outcome is AnswerOutcome.REFUSED:
        await _refuse(query, result.refusal)
        return
    if result.outcome is AnswerOutcome.UNCHANGED:
        await query.answer(view.already_saved_text())
        return
    poll, question = await _question_of(session, result)
    marked = view.question_keyboard(question, selected)
    if result.outcome is AnswerOutcome.CHANGED:
        await query.answer(view.changed_text())
        await edit_markup(query, marked)
        return
    await query.answer()
    await edit_markup(query, marked)
    await _continue(
        query.bot,  # type: ignore[arg-type]
        query.from_user.id,
        poll,
        result,
        session=session,
        resident=resident,
        state=state,
        settings=settings,
        locale=locale,
    )


async def poll_opened(
    query: CallbackQuery,
    callback_data: PollOpenCb,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    await query.answer()
    await open_poll(
        query.bot,  # type: ignore[arg-type]
        query.from_user.id,
        callback_data.poll,
        session=session,
        resident=resident,
        state=state,
        settings=settings,
        locale=i18n.current_locale,
    )


async def choice_pressed(
    query: CallbackQuery,
    callback_data: PollChoiceCb,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    if resident is None:
        await _refuse(query, Refusal.NOT_ONBOARDED)
        return
    result = await polls.answer_single(
        session, callback_data.question, resident, callback_data.option
    )
    await _answered(
        query,
        result,
        frozenset({callback_data.option}),
        session=session,
        resident=resident,
        state=state,
        settings=settings,
        locale=i18n.current_locale,
    )


async def scale_pressed(
    query: CallbackQuery,
    callback_data: PollScaleCb,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    if resident is None:
        await _refuse(query, Refusal.NOT_ONBOARDED)
        return
    result = await polls.answer_scale(
        session, callback_data.question, resident, callback_data.value
    )
    await _answered(
        query,
        result,
        frozenset({callback_data.value}),
        session=session,
        resident=resident,
        state=state,
        settings=settings,
        locale=i18n.current_locale,
    )


async def option_toggled(
    query: CallbackQuery,
    callback_data: PollToggleCb,
    session: AsyncSession,
    resident: Resident | None,
) -> None:
    if resident is None:
        await _refuse(query, Refusal.NOT_ONBOARDED)
        return
    result = await polls.toggle_choice(
        session,
        callback_data.question,
        resident,
        callback_data.option,
        selected=bool(callback_data.on),
    )
    if result.refusal is not None:
        await _refuse(query, result.refusal)
        return
    await query.answer()
    question = await session.get(PollQuestion, callback_data.question)
    assert question is not None
    await edit_markup(query, view.multiple_keyboard(question, result.selected))


async def choices_submitted(
    query: CallbackQuery,
    callback_data: PollSubmitCb,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    if resident is None:
        await _refuse(query, Refusal.NOT_ONBOARDED)
        return
    result = await polls.submit_multiple(session, callback_data.question, resident)
    selected: frozenset[int] = frozenset()
    if result.ok:
        selected = await polls.selected_options(session, callback_data.question, resident)
    await _answered(
        query,
        result,
        selected,
        session=session,
        resident=resident,
        state=state,
        settings=settings,
        locale=i18n.current_locale,
    )


# -- free text -------------------------------------------------------------------------


async def text_answered(
    message: Message,
    session: AsyncSession,
    resident: Resident | None,
    state: FSMContext,
    settings: Settings,
    i18n: I18n,
) -> None:
    assert message.text is not None and message.bot is not None
    locale = i18n.current_locale
    question_id = (await state.get_data()).get(QUESTION_KEY)
    if resident is None or not isinstance(question_id, int):
        await _leave_text_state(state)
        await message.answer(view.refusal_text(Refusal.NOT_FOUND))
        return
    result = await polls.answer_text(session, question_id, resident, message.text)
    if result.outcome is AnswerOutcome.REFUSED:
        if result.refusal is Refusal.TOO_LONG:
            await message.answer(view.text_too_long(len(message.text.strip()), locale))
            await message.answer(html.escape(message.text.strip()))
        elif result.refusal is Refusal.EMPTY:
            await message.answer(view.text_empty())
        else:
            await _leave_text_state(state)
            await message.answer(view.refusal_text(result.refusal))
        return
    await _leave_text_state(state)
    if result.outcome is AnswerOutcome.UNCHANGED:
        await message.answer(view.already_saved_text())
        return
    if result.outcome is AnswerOutcome.CHANGED:
        await message.answer(view.changed_text())
        return
    poll, _question = await _question_of(session, result)
    await _continue(
        message.bot,
        message.chat.id,
        poll,
        result,
        session=session,
        resident=resident,
        state=state,
        settings=settings,
        locale=locale,
    )


async def not_text(message: Message) -> None:
    await message.answer(view.text_expected())


def create_router() -> Router:
    router = Router(name="poll_answering")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.callback_query.register(poll_opened, PollOpenCb.filter())
    router.callback_query.register(choice_pressed, PollChoiceCb.filter())
    router.callback_query.register(scale_pressed, PollScaleCb.filter())
    router.callback_query.register(option_toggled, PollToggleCb.filter())
    router.callback_query.register(choices_submitted, PollSubmitCb.filter())
    router.message.register(text_answered, StateFilter(PollAnswering.text), typed_answer)
    router.message.register(not_text, StateFilter(PollAnswering.text), F.text.is_(None))
    return router
