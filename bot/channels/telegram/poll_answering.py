"""What residents see while answering polls and surveys: the list of open polls, each
question with its buttons, refusals, the thank-you and the results.

Titles, questions and options are written by organizers, so they are HTML-escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_percent

from bot.channels.telegram.poll_callbacks import (
    PollChoiceCb,
    PollOpenCb,
    PollScaleCb,
    PollSubmitCb,
    PollToggleCb,
)
from bot.channels.telegram.texts import menu_label
from bot.i18n import date_and_time, number
from bot.services import polls
from bot.services.polls import OpenPoll, PollTally, QuestionTally, Refusal
from models import Poll, PollQuestion, QuestionKind
from models.polls import SCALE_MAX, SCALE_MIN, TEXT_ANSWER_MAX_LENGTH

SELECTED = "✓ "
BUTTON_TITLE_LENGTH = 40
RESULTS_MAX_LENGTH = 3800  # Telegram allows 4096 characters in a message


def _short(text: str, limit: int = BUTTON_TITLE_LENGTH) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def localized(texts: Mapping[str, str] | None, locale: str) -> str | None:
    """An intro or thank-you in the resident's language, else in Lithuanian."""
    if not texts:
        return None
    return texts.get(locale) or texts.get("lt")


# -- the list of open polls ------------------------------------------------------------


def no_open_polls() -> str:
    return _(
        "There are no open polls right now. When your municipality publishes one, "
        "you will find it here."
    )


def open_polls_text(items: Sequence[OpenPoll], tz: ZoneInfo, locale: str) -> str:
    lines = [_("<b>Open polls</b>"), ""]
    for index, item in enumerate(items, start=1):
        when = date_and_time(item.poll.closes_at, tz, locale)
        if item.completed:
            state = _("answered")
        elif item.started:
            state = _("started – you can continue")
        else:
            state = _("open until {when}").format(when=when)
        lines.append(f"{index}. {html.escape(item.poll.title)} – {state}")
    lines += ["", _("Choose a poll:")]
    return "\n".join(lines)


def open_polls_keyboard(items: Sequence[OpenPoll]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, item in enumerate(items, start=1):
        title = f"{index}. {_short(item.poll.title)}"
        if item.completed:
            label = SELECTED + title
        elif item.started:
            label = _("{title} – continue").format(title=title)
        else:
            label = title
        builder.button(text=label, callback_data=PollOpenCb(poll=item.poll.id))
    builder.adjust(1)
    return builder.as_markup()


# -- questions -------------------------------------------------------------------------


def intro_text(poll: Poll, locale: str) -> str:
    intro = localized(poll.intro, locale)
    count = len(poll.questions)
    parts = [f"<b>{html.escape(poll.title)}</b>"]
    if intro:
        parts.append(html.escape(intro))
    size = _("The survey has {count} question.", "The survey has {count} questions.", count)
    later = _("You can stop at any time and continue later with the “{menu}” button.")
    parts.append(
        size.format(count=number(count, locale)) + " " + later.format(menu=menu_label("polls"))
    )
    return "\n\n".join(parts)


def _hint(kind: QuestionKind, locale: str) -> str:
    if kind is QuestionKind.SINGLE:
        return _("Choose one answer.")
    if kind is QuestionKind.MULTIPLE:
        return _("Choose one or more answers, then press “{submit}”.").format(submit=_("Submit"))
    if kind is QuestionKind.SCALE:
        return _("Rate from {low} (lowest) to {high} (highest).").format(
            low=SCALE_MIN, high=SCALE_MAX
        )
    return _("Write your answer in one message, up to {limit} characters.").format(
        limit=number(TEXT_ANSWER_MAX_LENGTH, locale)
    )


def question_text(poll: Poll, question: PollQuestion, locale: str) -> str:
    parts: list[str] = []
    if poll.is_survey:
        position, total = polls.question_number(poll, question)
        parts.append(
            f"<b>{html.escape(poll.title)}</b>\n"
            + _("Question {number} of {total}").format(number=position, total=total)
        )
    elif poll.title != question.text:
        parts.append(f"<b>{html.escape(poll.title)}</b>")
    parts.append(f"<b>{html.escape(question.text)}</b>")
    parts.append(f"<i>{_hint(question.kind, locale)}</i>")
    return "\n\n".join(parts)


def single_keyboard(question: PollQuestion, chosen: int | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=(SELECTED if option.id == chosen else "") + option.text,
                    callback_data=PollChoiceCb(question=question.id, option=option.id).pack(),
                )
            ]
            for option in question.options
        ]
    )


def multiple_keyboard(question: PollQuestion, selected: Collection[int]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for option in question.options:
        on = option.id in selected
        builder.button(
            text=(SELECTED if on else "") + option.text,
            callback_data=PollToggleCb(question=question.id, option=option.id, on=0 if on else 1),
        )
    builder.adjust(1)
    builder.row(
        InlineKeyboardButton(
            text=_("Submit"), callback_data=PollSubmitCb(question=question.id).pack()
        )
    )
    return builder.as_markup()


def scale_keyboard(question: PollQuestion, chosen: int | None = None) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=(SELECTED if value == chosen else "") + str(value),
                    callback_data=PollScaleCb(question=question.id, value=value).pack(),
                )
                for value in range(SCALE_MIN, SCALE_MAX + 1)
            ]
        ]
    )


def question_keyboard(
    question: PollQuestion, selected: Collection[int] = ()
) -> InlineKeyboardMarkup | None:
    """The question's buttons; ``selected``: option ids (or the scale value) to mark ✓."""
    chosen = next(iter(selected), None)
    if question.kind is QuestionKind.SINGLE:
        return single_keyboard(question, chosen)
    if question.kind is QuestionKind.MULTIPLE:
        return multiple_keyboard(question, selected)
    if question.kind is QuestionKind.SCALE:
        return scale_keyboard(question, chosen)
    return None


# -- outcomes --------------------------------------------------------------------------


def refusal_text(refusal: Refusal | None) -> str:
    if refusal is Refusal.CLOSED:
        return _("This poll has already ended.")
    if refusal is Refusal.NOT_OPEN_YET:
        return _("This poll has not started yet.")
    if refusal is Refusal.OUTSIDE_AUDIENCE:
        return _("This poll is meant for other residents, so you cannot answer it.")
    if refusal is Refusal.NOT_ONBOARDED:
        return _("Please finish the first steps before answering: send /start.")
    if refusal is Refusal.NOT_FOUND:
        return _("This poll was not found.")
    if refusal is Refusal.EMPTY:
        return _("Please choose at least one answer.")
    return _("This button is no longer active.")


def changed_text() -> str:
    return _("Your answer has been changed.")


def already_saved_text() -> str:
    return _("Your answer is already saved.")


def text_saved() -> str:
    return _("Thank you, your answer is saved.")


def text_expected() -> str:
    return _(
        "Please write your answer as text. Stickers, photos and other messages cannot be "
        "saved as an answer."
    )


def text_empty() -> str:
    return _("Your answer is empty. Please write it in a message.")


def text_too_long(length: int, locale: str) -> str:
    return _(
        "Your answer is too long: {characters}, at most {limit} allowed. Please shorten it "
        "and send it again. Here is your text, so that nothing is lost:"
    ).format(
        characters=_("{count} character", "{count} characters", length).format(
            count=number(length, locale)
        ),
        limit=number(TEXT_ANSWER_MAX_LENGTH, locale),
    )


def thanks_text(
    poll: Poll, locale: str, closes_at: datetime, tz: ZoneInfo, *, changeable: bool = True
) -> str:
    """The thank-you at the end; ``changeable``: the answers can still be changed there (a
    survey's earlier questions cannot be reopened on Messenger, whose replies vanish)."""
    text = localized(poll.thanks, locale)
    if text:
        thanks = html.escape(text)
    elif poll.is_survey:
        thanks = _("Thank you, your answers are saved.")
    else:
        thanks = _("Thank you, your answer is saved.")
    if poll.is_survey and not changeable:
        return thanks
    when = date_and_time(closes_at, tz, locale)
    if poll.is_survey:
        change = _("You can change your answers until {when}.").format(when=when)
    else:
        change = _("You can change your answer until {when}.").format(when=when)
    return f"{thanks}\n\n{change}"


def completed_text(poll: Poll) -> str:
    if poll.is_survey:
        return _("You have already answered this survey. Thank you!")
    return _("You have already answered this poll. To change your answer, choose again:")


# -- results ---------------------------------------------------------------------------


def votes(count: int, locale: str) -> str:
    return _("{count} vote", "{count} votes", count).format(count=number(count, locale))


def percent(value: float, locale: str) -> str:
    """``42 %`` in Lithuanian, ``42%`` in English."""
    return format_percent(value / 100, locale=locale)


def _question_results(tally: QuestionTally, locale: str) -> list[str]:
    lines = [f"<b>{html.escape(tally.text)}</b>"]
    if tally.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        for option in tally.options:
            lines.append(
                f"{html.escape(option.text)} – {votes(option.count, locale)}, "
                f"{percent(option.percent, locale)}"
            )
    elif tally.kind is QuestionKind.SCALE:
        for value in tally.scale:
            lines.append(
                f"{value.value} – {votes(value.count, locale)}, {percent(value.percent, locale)}"
            )
        if tally.mean is not None:
            lines.append(_("Average: {mean}").format(mean=number(round(tally.mean, 1), locale)))
    else:
        lines.append(
            _("{count} written answer", "{count} written answers", tally.respondents).format(
                count=number(tally.respondents, locale)
            )
        )
    return lines


def results_text(tally: PollTally, locale: str) -> str:
    lines = [
        _("<b>Results</b>"),
        _("{count} resident answered.", "{count} residents answered.", tally.respondents).format(
            count=number(tally.respondents, locale)
        ),
    ]
    for question in tally.questions:
        block = "\n" + "\n".join(_question_results(question, locale))
        if sum(len(line) for line in lines) + len(block) > RESULTS_MAX_LENGTH:
            lines.append("…")
            break
        lines.append(block)
    return "\n".join(lines)
