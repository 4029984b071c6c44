"""Polls and surveys on Messenger: the list of open polls, each question with quick replies
(free text typed), the thank-you and the results — on the same services as Telegram.

Payloads (short, ids only)::

    polls[:<page>]                        the open polls, 12 a page with "Daugiau"
    start:poll_<id>, po:<id>, poll:o:<id>  open a poll (invitation, notice button, the list)
    poll:a:<poll>:<question>:<value>      single choice (option id) or scale (1–5)
    poll:t:<poll>:<question>:<option>:<on> multiple choice: tick (1) or untick (0) an option
    poll:s:<poll>:<question>              multiple choice: submit the ticked options

Quick replies vanish once the bot writes again, so only the question being asked can be
answered: a reply for another question (a double tap, a redelivery, a forged payload) records
nothing and is answered politely. The service keeps the answers, the survey's position and
the multiple choice draft in the database, and a free-text question waits in the
conversation state (also in the database), so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from aiogram.utils.i18n import gettext as _

from bot.channels.messenger.client import MessagingType, MessengerError
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.menu import MENU_WORDS, menu_message
from bot.channels.messenger.messages import (
    MAX_TITLE,
    OutMessage,
    QuickReply,
    html_to_text,
    quick_reply_page,
    short_title,
)
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram import poll_answering as view
from bot.channels.telegram.poll_callbacks import PollOpenCb
from bot.channels.telegram.poll_chart import chart_spec, render_png
from bot.channels.telegram.poll_results import first_chart_question
from bot.services import polls
from bot.services.polls import AnswerOutcome, AnswerResult, Eligibility, Refusal
from models import Poll, PollQuestion, QuestionKind
from models.polls import SCALE_MAX, SCALE_MIN

logger = logging.getLogger(__name__)

router = MessengerRouter("polls")

LIST = "polls"
OPEN = "poll:o"
ANSWER = "poll:a"
TOGGLE = "poll:t"
SUBMIT = "poll:s"
TEXT_STATE = "poll:text"
QUESTION_KEY = "poll_question"  # state data: the free-text question being answered
POLL_KEY = "poll_id"

SELECTED = view.SELECTED  # "✓ "
# Options longer than this are numbered in the text ("1. …") and answered with "1", "2", …
# (room is kept for the ✓ of a chosen option, so a title is never cut).
OPTION_TITLE = MAX_TITLE - len(SELECTED)
_POLL_PARAM = re.compile(r"^poll_(\d{1,9})$")
_ID = re.compile(r"^\d{1,9}$")


def _ints(args: Sequence[str], count: int) -> list[int] | None:
    """``count`` small non-negative integers, or None (a forged or mangled payload)."""
    if len(args) != count or not all(_ID.match(arg) for arg in args):
        return None
    return [int(arg) for arg in args]


def stale_text() -> str:
    return view.refusal_text(None)  # "Šis mygtukas nebegalioja."


def _after_replies() -> tuple[QuickReply, ...]:
    return (
        QuickReply(short_title(_("Polls")), LIST),
        QuickReply(short_title(_("Menu")), "menu"),
    )


# -- the list --------------------------------------------------------------------------


def _list_title(index: int, item: polls.OpenPoll) -> str:
    title = f"{index}. {item.poll.title}"
    return short_title((SELECTED if item.completed else "") + title)


@router.payload(LIST)
async def show_polls(ctx: MessengerContext) -> None:
    await _leave_text_state(ctx)
    page = 0
    if ctx.args:
        numbers = _ints(ctx.args, 1)
        page = numbers[0] if numbers else 0
    items = await polls.list_open_for(ctx.session, ctx.resident)
    if not items:
        ctx.reply(view.no_open_polls(), quick_replies=(menu_reply(),))
        return
    replies = [
        QuickReply(_list_title(index, item), f"{OPEN}:{item.poll.id}")
        for index, item in enumerate(items, start=1)
    ]
    shown = quick_reply_page(replies, page, LIST, _("More"))
    if not shown:  # a page past the end (the list got shorter): the first page
        page, shown = 0, quick_reply_page(replies, 0, LIST, _("More"))
    if page == 0:
        text = html_to_text(view.open_polls_text(items, ctx.settings.tz, ctx.locale))
    else:
        text = _("Choose a poll:")
    ctx.reply(text, quick_replies=shown)


def menu_reply() -> QuickReply:
    return QuickReply(short_title(_("Menu")), "menu")


# -- showing a question ----------------------------------------------------------------


def _option_lines(question: PollQuestion, selected: frozenset[int], numbered: bool) -> list[str]:
    lines = []
    for index, option in enumerate(question.options, start=1):
        mark = SELECTED if option.id in selected else ""
        lines.append(f"{mark}{index}. {option.text}" if numbered else f"{mark}{option.text}")
    return lines


def question_message(
    poll: Poll, question: PollQuestion, selected: frozenset[int], locale: str
) -> OutMessage:
    """The question's text and its quick replies; ``selected``: option ids (or the scale
    value) marked ✓."""
    text = html_to_text(view.question_text(poll, question, locale))
    if question.kind is QuestionKind.TEXT:
        return OutMessage(text=text)
    if question.kind is QuestionKind.SCALE:
        replies = tuple(
            QuickReply(
                (SELECTED if value in selected else "") + str(value),
                f"{ANSWER}:{poll.id}:{question.id}:{value}",
            )
            for value in range(SCALE_MIN, SCALE_MAX + 1)
        )
        return OutMessage(text=text, quick_replies=replies)
    numbered = any(len(option.text) > OPTION_TITLE for option in question.options)
    multiple = question.kind is QuestionKind.MULTIPLE
    if numbered or (multiple and selected):
        text += "\n\n" + "\n".join(_option_lines(question, selected, numbered))
    quick: list[QuickReply] = []
    for index, option in enumerate(question.options, start=1):
        on = option.id in selected
        title = (SELECTED if on else "") + (str(index) if numbered else option.text)
        if multiple:
            payload = f"{TOGGLE}:{poll.id}:{question.id}:{option.id}:{0 if on else 1}"
        else:
            payload = f"{ANSWER}:{poll.id}:{question.id}:{option.id}"
        quick.append(QuickReply(title, payload))
    if multiple:
        quick.append(QuickReply(short_title(_("Submit")), f"{SUBMIT}:{poll.id}:{question.id}"))
    return OutMessage(text=text, quick_replies=tuple(quick))


async def _selected(ctx: MessengerContext, question: PollQuestion) -> frozenset[int]:
    if question.kind is QuestionKind.MULTIPLE:
        return await polls.selected_options(ctx.session, question.id, ctx.resident)
    if question.kind in (QuestionKind.SINGLE, QuestionKind.SCALE):
        return await polls.current_choice(ctx.session, question.id, ctx.resident)
    return frozenset()


async def _leave_text_state(ctx: MessengerContext) -> None:
    if ctx.state == TEXT_STATE:
        ctx.data.pop(QUESTION_KEY, None)
        ctx.data.pop(POLL_KEY, None)
        await ctx.set_state(None)


async def ask(ctx: MessengerContext, poll: Poll, question: PollQuestion) -> None:
    selected = await _selected(ctx, question)
    ctx.reply(question_message(poll, question, selected, ctx.locale))
    if question.kind is QuestionKind.TEXT:
        await ctx.set_state(TEXT_STATE, **{QUESTION_KEY: question.id, POLL_KEY: poll.id})
    else:
        await _leave_text_state(ctx)


async def _say_with_results(ctx: MessengerContext, poll: Poll, text: str, show: bool) -> None:
    """``text``, then (when ``show``) the results as text with the chart of the first
    choice or scale question above them; the menu replies on the last message.

    The chart is drawn after the commit in a worker thread (no transaction waits for it)
    and sent with the results; without a chart the results are an ordinary reply."""
    tally = await polls.tally(ctx.session, poll.id) if show else None
    if tally is None:
        ctx.reply(text, quick_replies=_after_replies())
        return
    ctx.reply(text)
    results = OutMessage(
        text=html_to_text(view.results_text(tally, ctx.locale)), quick_replies=_after_replies()
    )
    question = first_chart_question(tally)
    spec = chart_spec(question, ctx.locale) if question and tally.respondents else None
    if spec is None:
        ctx.reply(results)
        return
    graph, psid, poll_id = ctx.services.graph, ctx.psid, poll.id

    async def send_with_chart() -> None:
        message = results
        try:
            png = await asyncio.to_thread(render_png, spec)
            message = replace(results, image=png)
        except Exception as exc:  # the text results go anyway
            logger.warning("poll %s: chart not drawn: %s", poll_id, type(exc).__name__)
        try:
            await graph.send(psid, message, messaging_type=MessagingType.RESPONSE)
        except MessengerError as exc:
            logger.warning("poll %s: results not sent (code %s)", poll_id, exc.code)

    ctx.after_commit(send_with_chart)


async def _finish(ctx: MessengerContext, poll: Poll) -> None:
    await _leave_text_state(ctx)
    thanks = html_to_text(
        view.thanks_text(poll, ctx.locale, poll.closes_at, ctx.settings.tz, changeable=False)
    )
    await _say_with_results(ctx, poll, thanks, polls.results_visible(poll, answered=True))


async def _refuse_poll(ctx: MessengerContext, poll: Poll, allowed: Eligibility) -> None:
    """The poll cannot be answered now: why, and the results when the resident may see them."""
    await _leave_text_state(ctx)
    show = False
    if allowed is Eligibility.CLOSED:
        progress = await polls.progress_of(ctx.session, poll.id, ctx.resident)
        answered = progress is not None and progress.first_answer_at is not None
        show = polls.results_visible(poll, answered=answered)
    await _say_with_results(ctx, poll, view.refusal_text(Refusal(allowed.value)), show)


async def open_poll(ctx: MessengerContext, poll_id: int) -> None:
    """Show the poll's current question: from the list, an invitation or a notice."""
    poll = await polls.get_poll(ctx.session, poll_id)
    if poll is None:
        await _leave_text_state(ctx)
        ctx.reply(view.refusal_text(Refusal.NOT_FOUND), quick_replies=_after_replies())
        return
    allowed = polls.eligibility(poll, ctx.resident)
    if allowed is not Eligibility.OK:
        await _refuse_poll(ctx, poll, allowed)
        return
    question = await polls.next_question(ctx.session, poll, ctx.resident)
    if question is None:
        if poll.is_survey:
            await _leave_text_state(ctx)
            visible = polls.results_visible(poll, answered=True)
            await _say_with_results(ctx, poll, view.completed_text(poll), visible)
            return
        ctx.reply(view.completed_text(poll))
        question = poll.questions[0]  # a one-question poll: the answer may be changed
    elif poll.is_survey:
        progress = await polls.progress_of(ctx.session, poll.id, ctx.resident)
        if progress is None or progress.first_answer_at is None:
            ctx.reply(html_to_text(view.intro_text(poll, ctx.locale)))
    await ask(ctx, poll, question)


@router.payload(OPEN)
async def poll_chosen(ctx: MessengerContext) -> None:
    numbers = _ints(ctx.args, 1)
    if numbers is None:
        ctx.reply(stale_text(), quick_replies=_after_replies())
        return
    await open_poll(ctx, numbers[0])


@router.payload(PollOpenCb.__prefix__)
async def notice_button(ctx: MessengerContext) -> None:
    """A Telegram "open the poll" button relayed to Messenger as a postback (``po:<id>``)."""
    try:
        poll_id = PollOpenCb.unpack(ctx.payload or "").poll
    except (TypeError, ValueError):
        ctx.reply(stale_text(), quick_replies=_after_replies())
        return
    await open_poll(ctx, poll_id)


def poll_of_link(param: str) -> int | None:
    """The poll of a deep-link parameter (``poll_12``), or None."""
    match = _POLL_PARAM.match(param)
    return int(match.group(1)) if match is not None else None


# -- answers ---------------------------------------------------------------------------


async def _current(
    ctx: MessengerContext, poll_id: int, question_id: int
) -> tuple[Poll, PollQuestion, bool] | None:
    """The poll and question of a reply, and whether that question is the one being asked
    (or the only question of an answered poll, which may be changed). None: answered
    already (a refusal was queued)."""
    poll = await polls.get_poll(ctx.session, poll_id)
    if poll is None:
        ctx.reply(view.refusal_text(Refusal.NOT_FOUND), quick_replies=_after_replies())
        return None
    allowed = polls.eligibility(poll, ctx.resident)
    if allowed is not Eligibility.OK:
        await _refuse_poll(ctx, poll, allowed)
        return None
    question = next((q for q in poll.questions if q.id == question_id), None)
    if question is None:
        await _stale(ctx, poll)
        return None
    current = await polls.next_question(ctx.session, poll, ctx.resident)
    is_current = (current is not None and current.id == question.id) or (
        current is None and len(poll.questions) == 1
    )
    return poll, question, is_current


async def _say_then_ask(ctx: MessengerContext, poll: Poll, text: str) -> None:
    """``text``, then the question being asked (if any is left)."""
    current = await polls.next_question(ctx.session, poll, ctx.resident)
    if current is None:
        ctx.reply(text, quick_replies=_after_replies())
        return
    ctx.reply(text)
    await ask(ctx, poll, current)


async def _stale(ctx: MessengerContext, poll: Poll) -> None:
    """A reply that does not fit the question being asked: say so, and ask that question."""
    await _say_then_ask(ctx, poll, stale_text())


async def _answered(ctx: MessengerContext, poll: Poll, result: AnswerResult) -> None:
    if result.outcome is AnswerOutcome.REFUSED:
        refusal = result.refusal
        if refusal in (Refusal.CLOSED, Refusal.NOT_OPEN_YET, Refusal.OUTSIDE_AUDIENCE):
            await _refuse_poll(ctx, poll, Eligibility(refusal.value))
        elif refusal is Refusal.EMPTY:
            ctx.reply(view.refusal_text(refusal))
            question = next(q for q in poll.questions if q.id == result.question_id)
            await ask(ctx, poll, question)
        else:
            await _stale(ctx, poll)
        return
    if result.outcome is AnswerOutcome.UNCHANGED:
        ctx.reply(view.already_saved_text(), quick_replies=_after_replies())
        return
    if result.outcome is AnswerOutcome.CHANGED:
        ctx.reply(view.changed_text(), quick_replies=_after_replies())
        return
    following = next((q for q in poll.questions if q.id == result.next_question_id), None)
    if following is None:
        await _finish(ctx, poll)
    else:
        await ask(ctx, poll, following)


@router.payload(ANSWER)
async def choice_or_scale(ctx: MessengerContext) -> None:
    numbers = _ints(ctx.args, 3)
    if numbers is None:
        ctx.reply(stale_text(), quick_replies=_after_replies())
        return
    poll_id, question_id, value = numbers
    found = await _current(ctx, poll_id, question_id)
    if found is None:
        return
    poll, question, is_current = found
    if question.kind is QuestionKind.SINGLE:
        valid = value in {option.id for option in question.options}
    else:
        valid = question.kind is QuestionKind.SCALE and SCALE_MIN <= value <= SCALE_MAX
    if not valid:
        await _stale(ctx, poll)
        return
    if not is_current:
        # A second tap of a reply already answered: nothing to do; anything else is stale.
        if await _selected(ctx, question) == frozenset({value}):
            await _say_then_ask(ctx, poll, view.already_saved_text())
        else:
            await _stale(ctx, poll)
        return
    if question.kind is QuestionKind.SINGLE:
        result = await polls.answer_single(ctx.session, question.id, ctx.resident, value)
    else:
        result = await polls.answer_scale(ctx.session, question.id, ctx.resident, value)
    await _answered(ctx, poll, result)


@router.payload(TOGGLE)
async def option_toggled(ctx: MessengerContext) -> None:
    numbers = _ints(ctx.args, 4)
    if numbers is None or numbers[3] not in (0, 1):
        ctx.reply(stale_text(), quick_replies=_after_replies())
        return
    poll_id, question_id, option_id, on = numbers
    found = await _current(ctx, poll_id, question_id)
    if found is None:
        return
    poll, question, is_current = found
    if (
        question.kind is not QuestionKind.MULTIPLE
        or option_id not in {option.id for option in question.options}
        or not is_current
    ):
        await _stale(ctx, poll)
        return
    result = await polls.toggle_choice(
        ctx.session, question.id, ctx.resident, option_id, selected=bool(on)
    )
    if result.refusal is not None:
        await _stale(ctx, poll)
        return
    await ask(ctx, poll, question)


@router.payload(SUBMIT)
async def choices_submitted(ctx: MessengerContext) -> None:
    numbers = _ints(ctx.args, 2)
    if numbers is None:
        ctx.reply(stale_text(), quick_replies=_after_replies())
        return
    found = await _current(ctx, *numbers)
    if found is None:
        return
    poll, question, is_current = found
    if question.kind is not QuestionKind.MULTIPLE:
        await _stale(ctx, poll)
        return
    if not is_current:  # submitted already (a double tap)
        await _say_then_ask(ctx, poll, view.already_saved_text())
        return
    result = await polls.submit_multiple(ctx.session, question.id, ctx.resident)
    await _answered(ctx, poll, result)


# -- free text -------------------------------------------------------------------------


@router.state(TEXT_STATE)
async def text_answered(ctx: MessengerContext) -> None:
    question_id = ctx.data.get(QUESTION_KEY)
    poll_id = ctx.data.get(POLL_KEY)
    if not isinstance(question_id, int) or not isinstance(poll_id, int):
        await _leave_text_state(ctx)
        ctx.reply(view.refusal_text(Refusal.NOT_FOUND), quick_replies=_after_replies())
        return
    if ctx.text is None:  # a photo, a sticker, a location
        ctx.reply(view.text_expected())
        return
    if not ctx.text.strip():
        ctx.reply(view.text_empty())
        return
    if ctx.text.strip().casefold() in MENU_WORDS:  # "Meniu" typed: leave, resume later
        await _leave_text_state(ctx)
        ctx.reply(menu_message())
        return
    found = await _current(ctx, poll_id, question_id)
    if found is None:
        return
    poll, question, is_current = found
    if question.kind is not QuestionKind.TEXT or not is_current:
        await _leave_text_state(ctx)
        await _stale(ctx, poll)
        return
    text = ctx.text.strip()
    result = await polls.answer_text(ctx.session, question.id, ctx.resident, text)
    if result.refusal is Refusal.TOO_LONG:
        ctx.reply(view.text_too_long(len(text), ctx.locale))
        ctx.reply(text)  # nothing is lost: the resident can copy and shorten it
        return  # still waiting for this question's answer
    if result.refusal is Refusal.EMPTY:
        ctx.reply(view.text_empty())
        return
    await _leave_text_state(ctx)
    await _answered(ctx, poll, result)
