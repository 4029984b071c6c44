"""Texts of a poll's results for organizers: counts, percentages, the per-municipality
breakdown, how many residents the invitation reached and how many answered; and the short
results residents who answered receive when the poll closes.

Telegram HTML; the texts residents and organizers typed (title, questions, options) are
escaped. Long results are split into several messages of at most 4096 characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, format_percent

from bot.i18n import date_and_time
from bot.services.broadcasts import MAX_CAPTION, visible_length
from bot.services.polls import MunicipalityTally, PollTally, QuestionTally
from models import Poll, PollStatus, QuestionKind

MESSAGE_LIMIT = 4096


def number(value: int, locale: str) -> str:
    """``1 234`` (with a no-break space in Lithuanian)."""
    return format_decimal(value, locale=locale)


def percent(value: float, locale: str) -> str:
    """``46,7 %`` in Lithuanian, ``46.7%`` in English (one decimal at most)."""
    digits = format_decimal(round(value, 1), format="#,##0.#", locale=locale)
    spaced = "\u00a0" in format_percent(0, locale=locale)
    return f"{digits}\u00a0%" if spaced else f"{digits}%"


def mean_text(value: float, locale: str) -> str:
    """``3,8``"""
    return format_decimal(value, format="0.0", locale=locale)


def votes(count: int, locale: str) -> str:
    """``1 balsas``, ``2 balsai``, ``10 balsų``, ``21 balsas``."""
    return _("{count} vote", "{count} votes", count).format(count=number(count, locale))


def residents_answered(count: int, locale: str) -> str:
    """``Atsakė 21 gyventojas``"""
    return _("{count} resident answered", "{count} residents answered", count).format(
        count=number(count, locale)
    )


def written_answers(count: int, locale: str) -> str:
    return _("{count} written answer", "{count} written answers", count).format(
        count=number(count, locale)
    )


def status_line(poll: Poll, tz: ZoneInfo, locale: str) -> str:
    if poll.status is PollStatus.CLOSED:
        moment: datetime = poll.closed_at or poll.closes_at
        return _("Closed: {moment}.").format(moment=date_and_time(moment, tz, locale))
    if poll.status is PollStatus.CANCELLED:
        return _("Cancelled.")
    if poll.status is PollStatus.SCHEDULED:
        return _("Opens: {moment}.").format(moment=date_and_time(poll.opens_at, tz, locale))
    return _("Open until {moment}.").format(moment=date_and_time(poll.closes_at, tz, locale))


def reach_line(reached: int | None, answered: int, locale: str) -> str:
    """How many residents the invitation reached, and how many answered."""
    who = residents_answered(answered, locale)
    if reached is None:
        return _("The invitation was not sent.") + " " + who + "."
    # fmt: off
    line = _("The invitation reached {count} resident.",
             "The invitation reached {count} residents.", reached)
    # fmt: on
    line = line.format(count=number(reached, locale))
    if reached:
        who = _("{answered} – {percent} of those invited").format(
            answered=who, percent=percent(100.0 * answered / reached, locale)
        )
    return f"{line}\n{who}."


def kind_note(kind: QuestionKind) -> str:
    if kind is QuestionKind.MULTIPLE:
        return _("several answers allowed; percentages of those who answered")
    if kind is QuestionKind.SCALE:
        return _("scale 1–5")
    if kind is QuestionKind.TEXT:
        return _("written answers")
    return ""


def _option_lines(question: QuestionTally, locale: str) -> list[str]:
    if question.kind is QuestionKind.SCALE:
        lines = [
            f"{s.value} – {votes(s.count, locale)} ({percent(s.percent, locale)})"
            for s in reversed(question.scale)  # 5 (the best) first, as on a form
        ]
        if question.mean is not None:
            lines.append(_("Average: {mean}").format(mean=mean_text(question.mean, locale)))
        return lines
    if question.kind is QuestionKind.TEXT:
        return [written_answers(question.respondents, locale)]
    return [
        f"{escape(o.text)} – {votes(o.count, locale)} ({percent(o.percent, locale)})"
        for o in question.options
    ]


def question_block(question: QuestionTally, poll_id: int, locale: str, *, survey: bool) -> str:
    heading = f"<b>{question.position}. {escape(question.text)}</b>"
    note = kind_note(question.kind)
    if note:
        heading += f" ({note})"
    lines = [heading, *_option_lines(question, locale)]
    if question.kind is QuestionKind.TEXT and question.respondents:
        lines.append(_("Read them in the export: /poll_export {id}").format(id=poll_id))
    elif survey:
        count = question.respondents
        # fmt: off
        line = _("{count} resident answered this question.",
                 "{count} residents answered this question.", count)
        # fmt: on
        lines.append(line.format(count=number(count, locale)))
    return "\n".join(lines)


def _compact(question: QuestionTally, locale: str) -> str | None:
    """One line of a municipality's results for a question; None without answers."""
    if not question.respondents:
        return None
    if question.kind is QuestionKind.SCALE:
        mean = mean_text(question.mean, locale) if question.mean is not None else "–"
        detail = _("average {mean}").format(mean=mean) + f" ({votes(question.respondents, locale)})"
    elif question.kind is QuestionKind.TEXT:
        detail = written_answers(question.respondents, locale)
    else:
        detail = "; ".join(
            f"{escape(o.text)} – {votes(o.count, locale)} ({percent(o.percent, locale)})"
            for o in question.options
            if o.count
        )
    return f"{question.position}. {detail}"


def municipality_block(tally: MunicipalityTally, locale: str) -> str:
    name = tally.name_en if locale == "en" and tally.name_en else tally.name_lt
    title = escape(name) if name else _("Municipality not recorded")
    respondents = _("{count} respondent", "{count} respondents", tally.respondents).format(
        count=number(tally.respondents, locale)
    )
    lines = [f"<b>{title}</b> – {respondents}"]
    lines.extend(line for q in tally.questions if (line := _compact(q, locale)) is not None)
    return "\n".join(lines)


def results_messages(
    poll: Poll,
    tally: PollTally,
    municipalities: Sequence[MunicipalityTally],
    reached: int | None,
    *,
    tz: ZoneInfo,
    locale: str,
) -> list[str]:
    """The results as one or more messages (each within Telegram's 4096 characters)."""
    header = "\n".join(
        [
            "📊 " + _("<b>Results of poll no. {id}</b>").format(id=poll.id),
            f"„{escape(poll.title)}“",
            status_line(poll, tz, locale),
            reach_line(reached, tally.respondents, locale),
        ]
    )
    blocks = [header]
    blocks.extend(
        question_block(q, poll.id, locale, survey=poll.is_survey) for q in tally.questions
    )
    answered = [m for m in municipalities if m.respondents]
    if answered:
        blocks.append("<b>" + _("By municipality") + "</b>")
        blocks.extend(municipality_block(m, locale) for m in answered)
    return split_messages(blocks)


def split_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks with blank lines into messages of at most ``limit`` characters; a block
    too long for one message is split between its lines."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        pieces = [block] if len(block) <= limit else _split_lines(block, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
                continue
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _split_lines(block: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for line in block.splitlines():
        line = line[:limit]  # cannot happen with the length limits on questions and options
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces


def chart_caption(question: QuestionTally) -> str:
    """The photo caption: the question (captions hold 1024 characters)."""
    return escape(f"{question.position}. {question.text}"[:1000])


def first_chart_question(tally: PollTally) -> QuestionTally | None:
    """The first choice or scale question: the one whose chart residents receive."""
    return next((q for q in tally.questions if q.kind is not QuestionKind.TEXT), None)


def closing_announcement(poll: Poll, tally: PollTally, locale: str) -> str:
    """What residents who answered receive when the poll closes, as the caption of the first
    question's chart (or alone): that the poll ended, how many answered, and the results of
    its first choice or scale question. At most ``MAX_CAPTION`` characters as residents see
    them: option lines that do not fit are left out, ending with "…"."""
    title = _("The poll “{title}” has ended.").format(title=escape(poll.title))
    head = [
        f"📊 <b>{title}</b>",
        residents_answered(tally.respondents, locale) + ". " + _("Thank you for taking part!"),
    ]
    question = first_chart_question(tally)
    if question is None:
        return "\n".join(head)
    heading = f"<b>{question.position}. {escape(question.text)}</b>"
    note = kind_note(question.kind)
    if note:
        heading += f" ({note})"
    lines = _option_lines(question, locale)
    shown = len(lines)
    while True:
        cut = ["…"] if shown < len(lines) else []
        text = "\n".join([*head, "", heading, *lines[:shown], *cut])
        if visible_length(text) <= MAX_CAPTION or shown == 0:
            break
        shown -= 1
    if visible_length(text) > MAX_CAPTION:  # cannot happen with the length limits of polls
        return "\n".join(head)
    return text
