"""What organizers see while creating and managing polls: the draft, keyboards, texts, the
list of their polls, the invitation residents get and the results summary.

The draft being composed lives in the organizer's conversation state (FSM data, in the
database), so a restart in the middle of creating a poll loses nothing. Every button of the
composition carries the draft's id, so a button of an earlier draft changes nothing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal, format_percent

from bot.channels.telegram.audience_picker import (
    AudienceDraft,
    AudiencePicker,
    Flow,
    Wording,
    residents_count,
)
from bot.i18n import date_and_time, number
from bot.services import polls
from bot.services.polls import PollError, PollProblem, PollSummary, PollTally, QuestionTally
from models import Poll, PollStatus, QuestionKind, ResultsVisibility
from models.polls import OPTION_MAX_LENGTH, QUESTION_MAX_LENGTH

MESSAGE_LIMIT = 4096  # Telegram: characters of one message


# -- callback data (organizer buttons; ids only) ---------------------------------------------


class NewPollCb(CallbackData, prefix="npl"):
    """A step of creating a poll; ``draft`` ties the button to one composition."""

    draft: int
    action: str  # a kind, done, now, week, see_…, create, discard


class PollManageCb(CallbackData, prefix="pmg"):
    """Close an open poll early ("close") or cancel a scheduled one ("cancel")."""

    poll: int
    action: str


# -- the draft ---------------------------------------------------------------------------------


@dataclass
class PollDraft(AudienceDraft):
    """A poll being created. Times are ISO strings in UTC; None: opens now, or closes one
    week after opening."""

    KEY: ClassVar[str] = "poll_draft"

    question: str = ""
    kind: str = ""
    options: list[str] = field(default_factory=list)
    opens_at: str | None = None
    closes_at: str | None = None
    visibility: str = ResultsVisibility.AFTER_CLOSE.value

    @property
    def question_kind(self) -> QuestionKind:
        return QuestionKind(self.kind)

    @property
    def opening(self) -> datetime | None:
        return datetime.fromisoformat(self.opens_at) if self.opens_at else None

    @property
    def closing(self) -> datetime | None:
        return datetime.fromisoformat(self.closes_at) if self.closes_at else None

    def closing_for(self, now: datetime) -> datetime:
        return self.closing or (self.opening or now) + polls.DEFAULT_DURATION

    @property
    def spec(self) -> polls.QuestionSpec:
        return polls.QuestionSpec(self.question, self.question_kind, tuple(self.options))


AUDIENCE = AudiencePicker(
    Flow.POLL,
    Wording(
        question=lambda: _("<b>Who should be invited to answer?</b>"),
        reach=lambda residents: _("The invitation to the poll will reach {residents}.").format(
            residents=residents
        ),
        counted=lambda: _("Only residents who have not turned poll invitations off are counted."),
    ),
)


# -- wording of kinds, statuses, visibility ---------------------------------------------------


def kind_label(kind: QuestionKind) -> str:
    labels = {
        QuestionKind.SINGLE: _("One answer"),
        QuestionKind.MULTIPLE: _("Several answers"),
        QuestionKind.SCALE: _("Scale 1–5"),
        QuestionKind.TEXT: _("Free text"),
    }
    return labels[kind]


def visibility_label(visibility: ResultsVisibility) -> str:
    labels = {
        ResultsVisibility.AFTER_ANSWER: _("After answering"),
        ResultsVisibility.AFTER_CLOSE: _("After the poll closes"),
        ResultsVisibility.NEVER: _("Never"),
    }
    return labels[visibility]


def votes(count: int, locale: str) -> str:
    """``1 balsas``, ``2 balsai``, ``10 balsų``, ``21 balsas``."""
    return _("{count} vote", "{count} votes", count).format(count=number(count, locale))


def answers_count(count: int, locale: str) -> str:
    return _("{count} answer", "{count} answers", count).format(count=number(count, locale))


def percent(value: float, locale: str) -> str:
    """``66,7 %`` (value in percent, 0–100)."""
    return format_percent(value / 100, format="#,##0.# %", locale=locale)


def quoted(text: str) -> str:
    return _("“{text}”").format(text=html.escape(text))


# -- problems --------------------------------------------------------------------------------


def problem_text(error: PollError) -> str:
    """A polite explanation of a validation error; the step stays."""
    p = error.problem
    if p is PollProblem.QUESTION_EMPTY:
        return _("The question is empty. Please write the question.")
    if p is PollProblem.QUESTION_TOO_LONG:
        return _(
            "The question can have up to {limit} characters. Please write a shorter one."
        ).format(limit=error.limit or QUESTION_MAX_LENGTH)
    if p is PollProblem.OPTION_EMPTY:
        return _("An answer option is empty. Please write the option.")
    if p is PollProblem.OPTION_TOO_LONG:
        return _(
            "An answer option can have up to {limit} characters; option {number} is longer. "
            "Please write a shorter one."
        ).format(limit=error.limit or OPTION_MAX_LENGTH, number=error.option or 1)
    if p is PollProblem.DUPLICATE_OPTION:
        return _("Option {number} is already on the list. Please write a different one.").format(
            number=error.option or 1
        )
    if p is PollProblem.TOO_FEW_OPTIONS:
        return _("A poll needs at least {limit} answer options. Please write another one.").format(
            limit=error.limit or polls.MIN_OPTIONS
        )
    if p is PollProblem.TOO_MANY_OPTIONS:
        return _(
            "A poll can have at most {limit} answer options. Nothing from this message was "
            "added; please send fewer."
        ).format(limit=error.limit or polls.MAX_OPTIONS)
    if p is PollProblem.CLOSE_BEFORE_OPEN:
        return _("The poll must close after it opens. Please write a later time.")
    if p is PollProblem.CLOSE_IN_PAST:
        return _("This time has already passed. Please write a time in the future.")
    if p in (PollProblem.NOT_FOUND, PollProblem.NOT_OWNER):
        return _("This poll was not found.")
    if p is PollProblem.NOT_OPEN:
        return _("This poll is not open, so it cannot be closed.")
    if p is PollProblem.NOT_SCHEDULED:
        return _("This poll has already opened, so it cannot be cancelled.")
    return _("Sorry, this poll cannot be created like this. Please check it and try again.")


# -- the steps ---------------------------------------------------------------------------------


def question_prompt() -> str:
    return _(
        "<b>New poll</b>\nWrite the question residents will answer, up to {limit} "
        "characters.\n\nTo stop, send /cancel."
    ).format(limit=QUESTION_MAX_LENGTH)


def kind_prompt(draft: PollDraft) -> str:
    return _("{question}\n\n<b>How will residents answer?</b>").format(
        question=quoted(draft.question)
    )


def kind_keyboard(draft: PollDraft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in QuestionKind:
        builder.button(text=kind_label(kind), callback_data=NewPollCb(draft=draft.id, action=kind))
    builder.adjust(2)
    return builder.as_markup()


def kind_chosen(draft: PollDraft) -> str:
    return _("{question}\n\nAnswer: {kind}").format(
        question=quoted(draft.question), kind=kind_label(draft.question_kind)
    )


def options_prompt() -> str:
    return _(
        "Write the answer options, from {min} to {max}, each up to {limit} characters: one "
        "per message, or several in one message, one per line."
    ).format(min=polls.MIN_OPTIONS, max=polls.MAX_OPTIONS, limit=OPTION_MAX_LENGTH)


def options_list(options: Sequence[str]) -> str:
    return "\n".join(f"{n}. {html.escape(text)}" for n, text in enumerate(options, start=1))


def options_status(draft: PollDraft) -> str:
    lines = [_("<b>Answer options</b>"), options_list(draft.options), ""]
    if len(draft.options) >= polls.MAX_OPTIONS:
        lines.append(_("This is the most a poll can have. Press “{done}”.").format(done=_("Done")))
    elif len(draft.options) >= polls.MIN_OPTIONS:
        lines.append(
            _("Write another option, or press “{done}” if that is all.").format(done=_("Done"))
        )
    else:
        lines.append(
            _("Write another option: a poll needs at least {min}.").format(min=polls.MIN_OPTIONS)
        )
    return "\n".join(lines)


def options_keyboard(draft: PollDraft) -> InlineKeyboardMarkup | None:
    if len(draft.options) < polls.MIN_OPTIONS:
        return None
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Done"), callback_data=NewPollCb(draft=draft.id, action="done"))
    return builder.as_markup()


def _example(now: datetime, tz: ZoneInfo, days: int) -> str:
    return (now.astimezone(tz) + timedelta(days=days)).strftime("%Y-%m-%d") + " 18:00"


def opening_prompt(now: datetime, tz: ZoneInfo) -> str:
    return _(
        "<b>When should the poll open?</b>\nPress “{now}”, or write the date and time in "
        "Lithuanian time, for example {example}"
    ).format(now=_("Now"), example=_example(now, tz, 1))


def opening_keyboard(draft: PollDraft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Now"), callback_data=NewPollCb(draft=draft.id, action="now"))
    return builder.as_markup()


def closing_prompt(draft: PollDraft, now: datetime, tz: ZoneInfo, locale: str) -> str:
    default = draft.closing_for(now) if draft.opening else None
    when = (
        date_and_time(default, tz, locale) if default is not None else _("one week after it opens")
    )
    return _(
        "<b>When should the poll close?</b>\nPress “{week}” ({when}), or write the date and "
        "time in Lithuanian time, for example {example}"
    ).format(week=_("In a week"), when=when, example=_example(now, tz, 8))


def closing_keyboard(draft: PollDraft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("In a week"), callback_data=NewPollCb(draft=draft.id, action="week"))
    return builder.as_markup()


def visibility_prompt() -> str:
    return _("<b>When may residents who answered see the results?</b>")


def visibility_keyboard(draft: PollDraft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for visibility in (
        ResultsVisibility.AFTER_ANSWER,
        ResultsVisibility.AFTER_CLOSE,
        ResultsVisibility.NEVER,
    ):
        builder.button(
            text=visibility_label(visibility),
            callback_data=NewPollCb(draft=draft.id, action=f"see_{visibility.value}"),
        )
    builder.adjust(1)
    return builder.as_markup()


def summary_text(draft: PollDraft, audience: str, now: datetime, tz: ZoneInfo, locale: str) -> str:
    opening = draft.opening
    lines = [
        _("<b>Check the poll</b>"),
        "",
        _("Question: {question}").format(question=quoted(draft.question)),
        _("Answer: {kind}").format(kind=kind_label(draft.question_kind)),
    ]
    if draft.options:
        lines += [_("Answer options:"), options_list(draft.options)]
    lines += [
        "",
        audience,
        "",
        _("Opens: {when}").format(when=date_and_time(opening, tz, locale) if opening else _("now")),
        _("Closes: {when}").format(when=date_and_time(draft.closing_for(now), tz, locale)),
        _("Residents see the results: {when}").format(
            when=visibility_label(ResultsVisibility(draft.visibility)).lower()
        ),
    ]
    return "\n".join(lines)


def confirm_keyboard(draft: PollDraft) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Create the poll"), callback_data=NewPollCb(draft=draft.id, action="create")
    )
    builder.button(text=_("Discard"), callback_data=NewPollCb(draft=draft.id, action="discard"))
    builder.adjust(1)
    return builder.as_markup()


def discarded_text() -> str:
    return _("The poll was discarded. Nothing was created.")


def lost_text() -> str:
    return _("Sorry, this poll was lost. To start again, send /newpoll.")


def created_text(poll: Poll, reached: int, tz: ZoneInfo, locale: str) -> str:
    if poll.status is PollStatus.OPEN:
        head = _("The poll is open. The invitation is being sent to {residents}.").format(
            residents=residents_count(reached, locale)
        )
    else:
        head = _("The poll is scheduled: it opens {when}.").format(
            when=date_and_time(poll.opens_at, tz, locale)
        )
    return "\n\n".join(
        [
            head,
            _("It closes {when}. You will get the results then.").format(
                when=date_and_time(poll.closes_at, tz, locale)
            ),
            _("Your polls: /polls"),
        ]
    )


# -- the organizer's polls ---------------------------------------------------------------------


def status_line(poll: Poll, respondents: int, tz: ZoneInfo, locale: str) -> str:
    answered = _("{count} resident answered", "{count} residents answered", respondents).format(
        count=number(respondents, locale)
    )
    if poll.status is PollStatus.SCHEDULED:
        return _("scheduled – opens {when}").format(when=date_and_time(poll.opens_at, tz, locale))
    if poll.status is PollStatus.OPEN:
        return _("open until {when} – {answered}").format(
            when=date_and_time(poll.closes_at, tz, locale), answered=answered
        )
    if poll.status is PollStatus.CLOSED:
        return _("closed {when} – {answered}").format(
            when=date_and_time(poll.closed_at or poll.closes_at, tz, locale), answered=answered
        )
    return _("cancelled before opening")


def _excerpt(text: str, limit: int) -> str:
    plain = " ".join(text.split())
    if len(plain) <= limit:
        return plain
    return plain[: limit - 1].rsplit(" ", 1)[0] + "…"


def polls_text(items: Sequence[PollSummary], tz: ZoneInfo, locale: str) -> str:
    if not items:
        return _("You have no polls yet. To create one, send /newpoll.")
    lines = [_("<b>Your polls</b>")]
    for n, item in enumerate(items, start=1):
        lines.append(
            f"\n{n}. <i>{html.escape(_excerpt(item.poll.title, 80))}</i>\n"
            f"{status_line(item.poll, item.respondents, tz, locale)}"
        )
    lines.append("\n" + _("To create a new poll, send /newpoll."))
    return "\n".join(lines)


def polls_keyboard(items: Sequence[PollSummary]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for n, item in enumerate(items, start=1):
        poll, excerpt = item.poll, _excerpt(item.poll.title, 28)
        if poll.status is PollStatus.OPEN:
            builder.button(
                text=_("Close {number}. {excerpt}").format(number=n, excerpt=excerpt),
                callback_data=PollManageCb(poll=poll.id, action="close"),
            )
        elif poll.status is PollStatus.SCHEDULED:
            builder.button(
                text=_("Cancel {number}. {excerpt}").format(number=n, excerpt=excerpt),
                callback_data=PollManageCb(poll=poll.id, action="cancel"),
            )
    builder.adjust(1)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


# -- what residents get, and the results ---------------------------------------------------------


def invitation_text(poll: Poll, tz: ZoneInfo, locale: str) -> str:
    """The invitation residents get (Telegram HTML), in the current gettext locale."""
    return "\n\n".join(
        [
            _("<b>New poll</b>"),
            quoted(poll.title),
            _("Answer by {when}. Press “{answer}”.").format(
                when=date_and_time(poll.closes_at, tz, locale), answer=_("Answer")
            ),
        ]
    )


def invitation_button() -> str:
    return _("Answer")


def _question_lines(question: QuestionTally, locale: str) -> list[str]:
    lines: list[str] = []
    if question.kind in polls.CHOICE_KINDS:
        for option in question.options:
            lines.append(
                f"{option.position}. {html.escape(option.text)} – "
                f"{votes(option.count, locale)} ({percent(option.percent, locale)})"
            )
    elif question.kind is QuestionKind.SCALE:
        for value in question.scale:
            lines.append(
                f"{value.value} – {votes(value.count, locale)} ({percent(value.percent, locale)})"
            )
        if question.mean is not None:
            lines.append(
                _("Average: {mean}").format(
                    mean=format_decimal(round(question.mean, 1), format="0.0", locale=locale)
                )
            )
    else:
        lines.append(
            _("Written answers: {count}").format(count=number(question.respondents, locale))
        )
    return lines


def results_text(tally: PollTally, locale: str, *, reached: int | None = None) -> str:
    """Counts and percentages per question (Telegram HTML, current gettext locale);
    ``reached``: residents the invitation reached, when known."""
    answered = _("{count} resident answered", "{count} residents answered", tally.respondents)
    lines = [answered.format(count=number(tally.respondents, locale))]
    if reached is not None:
        lines.append(
            _("The invitation reached {residents}.").format(
                residents=residents_count(reached, locale)
            )
        )
        if reached:
            lines.append(
                _("Answered: {percent} of those reached.").format(
                    percent=percent(100.0 * tally.respondents / reached, locale)
                )
            )
    several = len(tally.questions) > 1
    for question in tally.questions:
        lines.append("")
        if several:
            lines.append(f"<b>{question.position}. {html.escape(question.text)}</b>")
        if question.kind in polls.CHOICE_KINDS or question.kind is QuestionKind.SCALE:
            lines.append(
                _("Answered this question: {count}").format(
                    count=number(question.respondents, locale)
                )
            )
        lines += _question_lines(question, locale)
    return "\n".join(lines)


def results_message(
    poll: Poll, tally: PollTally, reached: int | None, tz: ZoneInfo, locale: str
) -> str:
    head = [
        _("<b>Poll results</b>"),
        quoted(poll.title),
    ]
    if poll.status is PollStatus.CLOSED:
        head.append(
            _("Closed {when}").format(
                when=date_and_time(poll.closed_at or poll.closes_at, tz, locale)
            )
        )
    return "\n".join(head) + "\n\n" + results_text(tally, locale, reached=reached)


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Parts of at most ``limit`` characters, cut between lines (long surveys)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = line[:limit]
    if current:
        parts.append(current)
    return parts
