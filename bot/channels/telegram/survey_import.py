"""Texts of the survey import: each problem of a file on its line, and the summary.

Plain text (no HTML): the bot escapes it, the command line prints it as it is. Both speak
Lithuanian (or the organizer's language in the bot) through gettext.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.channels.telegram.texts import age_group_label
from bot.i18n import long_date, short_time
from bot.services.polls import PollProblem
from bot.services.survey_import import SurveyImportError, SurveyIssue, SurveyProblem
from models import AgeGroup, Municipality, Poll, ResultsVisibility

MAX_LISTED = 20  # problems listed in one chat message (the rest are counted)


def characters(n: int) -> str:
    return _("{n} character", "{n} characters", n).format(n=n)


def _problem_texts() -> dict[SurveyProblem | PollProblem, Callable[[dict[str, Any]], str]]:
    def allowed(d: dict[str, Any]) -> str:
        return ", ".join(str(v) for v in d.get("allowed", ()))

    return {
        SurveyProblem.NOT_TEXT: lambda d: _("the file is not UTF-8 text."),
        SurveyProblem.TOO_LARGE: lambda d: _("the file is too large (at most {limit} KB).").format(
            limit=d["limit"] // 1024
        ),
        SurveyProblem.NOT_YAML: lambda d: _(
            "this is not valid YAML: check the indentation, the colons and the quotes."
        ),
        SurveyProblem.NOT_MAPPING: lambda d: _(
            "the file must consist of fields such as “title:” and “questions:”."
        ),
        SurveyProblem.UNKNOWN_KEY: lambda d: _(
            "unknown field “{key}” (allowed: {allowed})."
        ).format(key=d["key"], allowed=allowed(d)),
        SurveyProblem.DUPLICATE_KEY: lambda d: _("the field “{key}” is given twice.").format(
            key=d["key"]
        ),
        SurveyProblem.MISSING_KEY: lambda d: _("the field “{key}” is missing.").format(
            key=d["key"]
        ),
        SurveyProblem.NOT_STRING: lambda d: _("“{key}” must be text.").format(key=d["key"]),
        SurveyProblem.NOT_LIST: lambda d: _("“{key}” must be a list.").format(key=d["key"]),
        SurveyProblem.NOT_MAP: lambda d: _("“{key}” must consist of fields (name: value).").format(
            key=d["key"]
        ),
        SurveyProblem.NOT_INTEGER: lambda d: _("“{key}” must be a number, not “{value}”.").format(
            key=d["key"], value=d["value"]
        ),
        SurveyProblem.BAD_KIND: lambda d: _(
            "unknown question kind “{value}” (allowed: {allowed})."
        ).format(value=d["value"], allowed=allowed(d)),
        SurveyProblem.BAD_RESULTS: lambda d: _(
            "unknown value “{value}” of “results” (allowed: {allowed})."
        ).format(value=d["value"], allowed=allowed(d)),
        SurveyProblem.UNKNOWN_MUNICIPALITY: lambda d: _(
            "unknown municipality code “{value}” (the codes are in models/data/municipalities.csv)."
        ).format(value=d["value"]),
        SurveyProblem.BAD_AGE_GROUP: lambda d: _(
            "unknown age group “{value}” (allowed: {allowed})."
        ).format(value=d["value"], allowed=allowed(d)),
        SurveyProblem.BAD_DATE: lambda d: _(
            "wrong date and time “{value}” in “{key}”: write, for example, 2026-12-01 18:00."
        ).format(value=d["value"], key=d["key"]),
        SurveyProblem.SKIP_IF_NOT_EARLIER: lambda d: _(
            "skip_if must refer to an earlier question (this is question {question}, "
            "skip_if refers to question {target})."
        ).format(question=d["question"], target=d["target"]),
        SurveyProblem.SKIP_IF_NOT_CHOICE: lambda d: _(
            "skip_if refers to question {target}, which has no options "
            "(it must be a single or multiple question)."
        ).format(target=d["target"]),
        SurveyProblem.SKIP_IF_NO_OPTION: lambda d: _(
            "question {target} has no option {option} (it has {count})."
        ).format(target=d["target"], option=d["option"], count=d["count"]),
        PollProblem.TITLE_EMPTY: lambda d: _("the title is empty."),
        PollProblem.TITLE_TOO_LONG: lambda d: _(
            "the title is too long ({length}, at most {limit})."
        ).format(length=characters(d["length"]), limit=d["limit"]),
        PollProblem.NO_QUESTIONS: lambda d: _("the survey has no questions."),
        PollProblem.TOO_MANY_QUESTIONS: lambda d: _("too many questions (at most {limit}).").format(
            limit=d["limit"]
        ),
        PollProblem.QUESTION_EMPTY: lambda d: _("the question text is empty."),
        PollProblem.QUESTION_TOO_LONG: lambda d: _(
            "the question text is too long ({length}, at most {limit})."
        ).format(length=characters(d["length"]), limit=d["limit"]),
        PollProblem.OPTION_EMPTY: lambda d: _("option {option} is empty.").format(
            option=d["option"]
        ),
        PollProblem.OPTION_TOO_LONG: lambda d: _(
            "option {option} is too long ({length}, at most {limit})."
        ).format(option=d["option"], length=characters(d["length"]), limit=d["limit"]),
        PollProblem.DUPLICATE_OPTION: lambda d: _("the option “{text}” is repeated.").format(
            text=d["text"]
        ),
        PollProblem.TOO_FEW_OPTIONS: lambda d: _(
            "too few options ({count}, at least {limit} are needed)."
        ).format(count=d["count"], limit=d["limit"]),
        PollProblem.TOO_MANY_OPTIONS: lambda d: _(
            "too many options ({count}, at most {limit})."
        ).format(count=d["count"], limit=d["limit"]),
        PollProblem.OPTIONS_NOT_ALLOWED: lambda d: _(
            "a “{kind}” question has no options: remove “options” or change “kind”."
        ).format(kind=d["kind"]),
        PollProblem.BAD_SKIP_IF: lambda d: _(
            "skip_if must refer to options of an earlier single or multiple question."
        ),
        PollProblem.TEXT_NOT_LITHUANIAN: lambda d: _(
            "“{key}” needs the Lithuanian text (lt); only lt and en are allowed."
        ).format(key=d["key"]),
        PollProblem.TEXT_TOO_LONG: lambda d: _(
            "“{key}” is too long ({length}, at most {limit})."
        ).format(key=d["key"], length=characters(d["length"]), limit=d["limit"]),
        PollProblem.CLOSE_BEFORE_OPEN: lambda d: _("the survey must close after it opens."),
        PollProblem.CLOSE_IN_PAST: lambda d: _("the closing time has already passed."),
    }


def problem_text(issue: SurveyIssue) -> str:
    render = _problem_texts().get(issue.problem)
    if render is None:
        return _("the survey cannot be created ({problem}).").format(problem=issue.problem.value)
    return render(dict(issue.details))


def issue_text(issue: SurveyIssue) -> str:
    """``3 eilutė: klausimo tekstas per ilgas (312 simbolių, galima 300).``"""
    problem = problem_text(issue)
    if issue.line is None:
        return problem[:1].upper() + problem[1:]
    return _("line {line}: {problem}").format(line=issue.line, problem=problem)


def error_lines(error: SurveyImportError) -> list[str]:
    return [issue_text(issue) for issue in error.issues]


def error_report(error: SurveyImportError) -> str:
    """The chat reply (HTML-escaped): how many problems, each on its line, what to do."""
    count = len(error.issues)
    problems = _("{n} problem in the file", "{n} problems in the file", count).format(n=count)
    lines = [_("The survey was not imported: {problems}.").format(problems=problems), ""]
    lines += [f"• {html.escape(text)}" for text in error_lines(error)[:MAX_LISTED]]
    if count > MAX_LISTED:
        lines.append(_("…and {n} more.").format(n=count - MAX_LISTED))
    lines += ["", _("Nothing was saved. Fix the file and send it again.")]
    return "\n".join(lines)


def not_yaml_hint() -> str:
    return _(
        "To import a survey, send its YAML file (.yaml or .yml) as a document. "
        "The format is described in docs/survey-example.yaml."
    )


def too_large() -> str:
    return _("The file is too large (at most {limit} KB).").format(limit=256)


def _moment(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    return f"{long_date(moment, tz, locale)} {short_time(moment, tz, locale)}"


def results_line(visibility: ResultsVisibility) -> str:
    return {
        ResultsVisibility.AFTER_ANSWER: _("Residents see the results after answering."),
        ResultsVisibility.AFTER_CLOSE: _("Residents see the results after the survey closes."),
        ResultsVisibility.NEVER: _("Residents do not see the results."),
    }[visibility]


def summary(
    poll: Poll,
    municipalities: Sequence[Municipality],
    tz: ZoneInfo,
    locale: str,
    now: datetime,
) -> str:
    """What was imported (plain text): title, number, questions, times, audience, results."""
    questions = _("{n} question", "{n} questions", len(poll.questions)).format(
        n=len(poll.questions)
    )
    closes = _moment(poll.closes_at, tz, locale)
    if poll.opens_at <= now + timedelta(minutes=1):
        head = _(
            "Survey “{title}” (no. {id}) imported: {questions}, opens now, closes {closes}."
        ).format(title=poll.title, id=poll.id, questions=questions, closes=closes)
    else:
        head = _(
            "Survey “{title}” (no. {id}) imported: {questions}, opens {opens}, closes {closes}."
        ).format(
            title=poll.title,
            id=poll.id,
            questions=questions,
            opens=_moment(poll.opens_at, tz, locale),
            closes=closes,
        )
    groups = poll.audience.get("age_groups", [])
    names = ", ".join(m.short_name(locale) for m in municipalities) or _("all")
    ages = ", ".join(age_group_label(g) for g in AgeGroup if g.value in groups) or _("all")
    return "\n".join(
        [
            head,
            "",
            _("Municipalities: {names}").format(names=names),
            _("Age groups: {ages}").format(ages=ages),
            results_line(poll.results_visibility),
        ]
    )
