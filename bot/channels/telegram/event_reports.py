"""Texts of the organizers' event files and figures: the import (each problem on its line,
and what was imported), the attendance list, exports and the report against the
programme's targets.

The import texts are plain (the bot escapes them, the command line prints them); the
attendance and report texts are HTML (titles and names escaped here).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.channels.telegram import survey_import as survey_texts
from bot.channels.telegram.event_callbacks import (
    AttendanceCb,
    AttendanceDoneCb,
    AttendancePageCb,
)
from bot.channels.telegram.event_view import kind_label, title_html, when_text
from bot.channels.telegram.poll_results import number, percent
from bot.channels.telegram.texts import N_
from bot.i18n import long_date, short_time
from bot.services.event_attendance import (
    AttendanceEntry,
    AttendanceOutcome,
    AttendanceRefusal,
    AttendanceResult,
    EventReport,
    TargetProgress,
)
from bot.services.event_import import EventFileProblem, EventImportError, EventIssue
from bot.services.events import EventProblem
from bot.services.survey_import import SurveyIssue, SurveyProblem
from models import Event, EventKind, Registration, RegistrationStatus

MAX_LISTED = survey_texts.MAX_LISTED
PAGE_SIZE = 30  # attendance buttons on one page

# --- importing --------------------------------------------------------------------------


def _event_problem_texts() -> dict[
    EventFileProblem | EventProblem, Callable[[dict[str, Any]], str]
]:
    characters = survey_texts.characters

    def allowed(d: dict[str, Any]) -> str:
        return ", ".join(str(v) for v in d.get("allowed", ()))

    return {
        EventFileProblem.NOT_EVENTS: lambda d: _(
            "the file must have the list of events under “events:” "
            "(a CSV file: a first row with the column names)."
        ),
        EventFileProblem.NO_EVENTS: lambda d: _("the file has no events."),
        EventFileProblem.TOO_MANY_EVENTS: lambda d: _(
            "too many events in one file (at most {limit})."
        ).format(limit=d["limit"]),
        EventFileProblem.BAD_EVENT_KIND: lambda d: _(
            "unknown event kind “{value}” (allowed: {allowed})."
        ).format(value=d["value"], allowed=allowed(d)),
        EventFileProblem.BAD_REMINDER: lambda d: _(
            "wrong reminder “{value}”: write how long before the start, e.g. 24h, 2h or 30min."
        ).format(value=d["value"]),
        EventFileProblem.INACTIVE_MUNICIPALITY: lambda d: _(
            "the municipality {value} is not active in this bot "
            "(an admin can turn it on with /activate {value})."
        ).format(value=d["value"]),
        EventFileProblem.CSV_BROKEN: lambda d: _('a quotation mark (") is not closed.'),
        EventFileProblem.CSV_EXTRA_CELLS: lambda d: _(
            "the row has more cells ({count}) than the first row has column names ({columns})."
        ).format(count=d["count"], columns=d["columns"]),
        EventProblem.TITLE_EMPTY: lambda d: _("the title is empty."),
        EventProblem.TITLE_TOO_LONG: lambda d: _(
            "the title is too long ({length}, at most {limit})."
        ).format(length=characters(d["length"]), limit=d["limit"]),
        EventProblem.DESCRIPTION_TOO_LONG: lambda d: _(
            "the description is too long ({length}, at most {limit})."
        ).format(length=characters(d["length"]), limit=d["limit"]),
        EventProblem.NO_MUNICIPALITY: lambda d: _("name at least one municipality."),
        EventProblem.UNKNOWN_MUNICIPALITY: lambda d: _(
            "one of the municipalities is no longer active."
        ),
        EventProblem.NO_PLACE: lambda d: _(
            "give the place (“place”) or the link of an online event (“online_url”)."
        ),
        EventProblem.ADDRESS_TOO_LONG: lambda d: _(
            "the address is too long ({length}, at most {limit})."
        ).format(length=characters(d["length"]), limit=d["limit"]),
        EventProblem.BAD_URL: lambda d: _(
            "the link must start with https:// (or http://) and have no spaces."
        ),
        EventProblem.BAD_POINT: lambda d: _(
            "give both “latitude” (from -90 to 90) and “longitude” (from -180 to 180)."
        ),
        EventProblem.END_BEFORE_START: lambda d: _("the event must end after it starts."),
        EventProblem.START_IN_PAST: lambda d: _("the start time has already passed."),
        EventProblem.DEADLINE_AFTER_START: lambda d: _(
            "registration must close before the event starts."
        ),
        EventProblem.BAD_CAPACITY: lambda d: _(
            "the number of places must be from 1 to {limit} (leave it empty for no limit)."
        ).format(limit=d["limit"]),
        EventProblem.BAD_QUOTA: lambda d: _("the quota per organization must be at least 1."),
        EventProblem.TOO_MANY_QUESTIONS: lambda d: _(
            "too many questions (at most {limit})."
        ).format(limit=d["limit"]),
        EventProblem.QUESTION_EMPTY: lambda d: _("the question text is empty."),
        EventProblem.QUESTION_TOO_LONG: lambda d: _(
            "the question text is too long ({length}, at most {limit})."
        ).format(length=characters(d["length"]), limit=d["limit"]),
        EventProblem.BAD_REMINDERS: lambda d: _(
            "at most {limit} reminders, each from 1 minute to 30 days before the start."
        ).format(limit=d["limit"]),
        EventProblem.BAD_OFFER_HOURS: lambda d: _(
            "“offer_hours” must be from 1 to {limit}."
        ).format(limit=d["limit"]),
    }


def problem_text(issue: EventIssue) -> str:
    if isinstance(issue.problem, SurveyProblem):
        return survey_texts.problem_text(SurveyIssue(issue.line, issue.problem, issue.details))
    render = _event_problem_texts().get(issue.problem)
    if render is None:
        return _("the event cannot be created ({problem}).").format(problem=issue.problem.value)
    return render(dict(issue.details))


def issue_text(issue: EventIssue) -> str:
    """``5 eilutė: renginys turi baigtis vėliau, nei prasideda.``"""
    problem = problem_text(issue)
    if issue.line is None:
        return problem[:1].upper() + problem[1:]
    return _("line {line}: {problem}").format(line=issue.line, problem=problem)


def error_lines(error: EventImportError) -> list[str]:
    return [issue_text(issue) for issue in error.issues]


def error_report(error: EventImportError) -> str:
    """The chat reply (HTML-escaped): how many problems, each on its line, what to do."""
    count = len(error.issues)
    problems = _("{n} problem in the file", "{n} problems in the file", count).format(n=count)
    lines = [_("The events were not imported: {problems}.").format(problems=problems), ""]
    lines += [f"• {html.escape(text)}" for text in error_lines(error)[:MAX_LISTED]]
    if count > MAX_LISTED:
        lines.append(_("…and {n} more.").format(n=count - MAX_LISTED))
    lines += ["", _("Nothing was saved. Fix the file and send it again.")]
    return "\n".join(lines)


def places_text(capacity: int | None, locale: str) -> str:
    if capacity is None:
        return _("no limit of places")
    return _("{n} place", "{n} places", capacity).format(n=number(capacity, locale))


def import_summary(created: Sequence[Event], tz: ZoneInfo, locale: str) -> str:
    """What was imported (plain text): each event with its number, kind, time, places."""
    count = len(created)
    lines = [_("{n} event imported:", "{n} events imported:", count).format(n=count)]
    for event in created:
        names = ", ".join(m.short_name(locale) for m in event.municipalities)
        lines.append(
            _("• no. {id} “{title}” – {kind}, {when}, {municipalities}; {places}").format(
                id=event.id,
                title=event.title,
                kind=kind_label(event.kind),
                when=when_text(event, tz, locale),
                municipalities=names,
                places=places_text(event.capacity, locale),
            )
        )
    lines += [
        "",
        _(
            "Residents of these municipalities see them under “Events” and can register. "
            "No announcement was sent."
        ),
    ]
    return "\n".join(lines)


def events_file_hint() -> str:
    return _(
        "To import events, send a YAML file with the list “events:” or a CSV file, one "
        "event per row (see docs/events-example.yaml and docs/events-example.csv)."
    )


# --- attendance -------------------------------------------------------------------------


def participant_name(entry: AttendanceEntry | Registration) -> str:
    """The name the resident agreed to share, or their registration's number (plain)."""
    if isinstance(entry, Registration):
        name = entry.display_name if entry.share_name else None
        registration_id = entry.id
    else:
        name, registration_id = entry.display_name, entry.registration_id
    return name or _("participant no. {id}").format(id=registration_id)


def who(entry: AttendanceEntry | Registration) -> str:
    return html.escape(participant_name(entry))


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def attendance_text(
    event: Event, entries: Sequence[AttendanceEntry], page: int, tz: ZoneInfo, locale: str
) -> str:
    came = sum(1 for entry in entries if entry.attended)
    lines = [
        _("<b>Attendance</b> – {title} (no. {id})").format(title=title_html(event), id=event.id),
        when_text(event, tz, locale),
        "",
    ]
    if not entries:
        lines.append(_("Nobody is registered to this event."))
        return "\n".join(lines)
    lines.append(
        _("Came: {came} of {registered}.").format(
            came=number(came, locale), registered=number(len(entries), locale)
        )
    )
    lines += [
        "",
        _(
            "Press a participant to mark that they came (✓); press again to undo. "
            "You can also type or paste the check-in code from their confirmation or QR code."
        ),
    ]
    pages = page_count(len(entries))
    if pages > 1:
        lines.append(_("Page {page} of {pages}.").format(page=page + 1, pages=pages))
    return "\n".join(lines)


def attendance_keyboard(
    event: Event, entries: Sequence[AttendanceEntry], page: int
) -> InlineKeyboardMarkup:
    pages = page_count(len(entries))
    page = min(max(page, 0), pages - 1)
    rows = []
    for entry in entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        mark = "✓ " if entry.attended else ""
        label = f"{mark}{entry.checkin_code} · {participant_name(entry)}"
        data = AttendanceCb(registration=entry.registration_id, on=0 if entry.attended else 1)
        rows.append([InlineKeyboardButton(text=label[:64], callback_data=data.pack())])
    if pages > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("◀ Back"),
                    callback_data=AttendancePageCb(event=event.id, page=(page - 1) % pages).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Next ▶"),
                    callback_data=AttendancePageCb(event=event.id, page=(page + 1) % pages).pack(),
                ),
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                text=_("Done"), callback_data=AttendanceDoneCb(event=event.id).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def attendance_closed(event: Event, entries: Sequence[AttendanceEntry], locale: str) -> str:
    came = sum(1 for entry in entries if entry.attended)
    return _(
        "Attendance of {title} (no. {id}): {came} of {registered} came. "
        "To mark more, send /attendance {id}."
    ).format(
        title=title_html(event),
        id=event.id,
        came=number(came, locale),
        registered=number(len(entries), locale),
    )


def code_result(
    result: AttendanceResult, code: str, other: Event | None, tz: ZoneInfo, locale: str
) -> str:
    """The answer to a typed or scanned check-in code (HTML). ``other``: the event the code
    belongs to, when it is another one."""
    code = html.escape(code)
    registration = result.registration
    if result.outcome is AttendanceOutcome.MARKED and registration is not None:
        return _("✓ Code {code}: {who} came.").format(code=code, who=who(registration))
    if result.outcome is AttendanceOutcome.ALREADY and registration is not None:
        assert registration.attended_at is not None
        return _("Code {code} ({who}) was already marked at {time}.").format(
            code=code,
            who=who(registration),
            time=short_time(registration.attended_at, tz, locale),
        )
    refusal = result.refusal
    if refusal is AttendanceRefusal.OTHER_EVENT and other is not None:
        return _("Code {code} is a registration to another event: {title} (no. {id}).").format(
            code=code, title=title_html(other), id=other.id
        )
    if refusal is AttendanceRefusal.NOT_REGISTERED and registration is not None:
        status = registration.status
        if status is RegistrationStatus.WAITLISTED:
            return _(
                "Code {code} belongs to someone on the waiting list: they have no place yet."
            ).format(code=code)
        if status is RegistrationStatus.OFFERED:
            return _(
                "Code {code}: a place has been offered, but they have not confirmed it yet."
            ).format(code=code)
        return _("Code {code}: this registration was cancelled, so there is no place.").format(
            code=code
        )
    if refusal is AttendanceRefusal.EVENT_CANCELLED:
        return _("This event was cancelled: attendance cannot be marked.")
    if refusal is AttendanceRefusal.EVENT_NOT_FOUND:
        return _("This event no longer exists.")
    return _("There is no registration with the code {code}. Please check it.").format(code=code)


def toggle_answer(result: AttendanceResult) -> str:
    """The short answer to a press in the list (≤ 200 characters, plain)."""
    if result.outcome is AttendanceOutcome.MARKED:
        return _("✓ Marked as came.")
    if result.outcome is AttendanceOutcome.UNMARKED:
        return _("The mark is removed.")
    if result.outcome is AttendanceOutcome.ALREADY:
        return _("Already done.")
    if result.refusal is AttendanceRefusal.EVENT_CANCELLED:
        return _("This event was cancelled: attendance cannot be marked.")
    return _("This registration has no place at this event.")


# --- exports ------------------------------------------------------------------------------


def export_caption(event: Event, count: int, locale: str) -> str:
    rows = _("{count} row", "{count} rows", count).format(count=number(count, locale))
    return _(
        "Registrations to {title} (no. {id}): {rows}. Names only of residents who agreed "
        "to share them."
    ).format(title=title_html(event), id=event.id, rows=rows)


# --- the report ---------------------------------------------------------------------------

_TARGET_NAMES = {
    "trained": N_("Trained (trainings)"),
    "discussions": N_("Public discussions and focus groups"),
    "study_visit": N_("Study visit"),
}


def target_name(name: str) -> str:
    return _(_TARGET_NAMES[name]) if name in _TARGET_NAMES else name


def participants(n: int, locale: str) -> str:
    """``1 dalyvis``, ``2 dalyviai``, ``10 dalyvių``"""
    return _("{n} participant", "{n} participants", n).format(n=number(n, locale))


def registrations(n: int, locale: str) -> str:
    return _("{n} registration", "{n} registrations", n).format(n=number(n, locale))


def report_period(
    since: str | None = None, until: str | None = None, *, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Days (``2026-01-01``, Lithuanian time) → [since, until) in UTC, the ``until`` day
    included. ValueError when a day is not understood."""

    def midnight(day: str, later: int = 0) -> datetime:
        local = datetime.combine(date.fromisoformat(day.strip()), time(0), tzinfo=tz)
        return (local + timedelta(days=later)).astimezone(UTC)

    return (
        midnight(since) if since else None,
        midnight(until, later=1) if until else None,
    )


def _share(part: int, whole: int, locale: str) -> str:
    return percent(100.0 * part / whole, locale) if whole else "–"


def _period(report: EventReport, tz: ZoneInfo, locale: str) -> str:
    """The days the report covers (``until`` is the midnight after the last day)."""
    since = report.since
    until = report.until - timedelta(microseconds=1) if report.until is not None else None
    if since is not None and until is not None:
        return _("Events from {since} to {until}.").format(
            since=long_date(since, tz, locale), until=long_date(until, tz, locale)
        )
    if since is not None:
        return _("Events from {since}.").format(since=long_date(since, tz, locale))
    if until is not None:
        return _("Events until {until}.").format(until=long_date(until, tz, locale))
    return _("All events.")


def _target_line(progress: TargetProgress, locale: str) -> str:
    goal = progress.target.goal
    return _("• {name}: {attended} of {goal} ({percent}); registered: {registered}").format(
        name=html.escape(target_name(progress.target.name)),
        attended=participants(progress.attended, locale),
        goal=number(goal, locale),
        percent=percent(progress.percent, locale),
        registered=number(progress.registered, locale),
    )


def report_text(report: EventReport, tz: ZoneInfo, locale: str) -> str:
    """The report (HTML): totals, each kind by municipality, and the targets."""
    lines = [_("<b>Events report</b>"), _period(report, tz, locale), ""]
    lines.append(
        _("Registered: {registered}; came: {attended} ({percent}).").format(
            registered=registrations(report.registered, locale),
            attended=participants(report.attended, locale),
            percent=_share(report.attended, report.registered, locale),
        )
    )
    kind: EventKind | None = None
    for line in report.lines:
        if line.kind is not kind:
            kind = line.kind
            label = kind_label(kind)
            lines += ["", f"<b>{html.escape(label[:1].upper() + label[1:])}</b>"]
        if line.municipality_name_lt is None:
            place = _("municipality not recorded")
        elif locale == "en" and line.municipality_name_en:
            place = line.municipality_name_en
        else:
            place = line.municipality_name_lt
        lines.append(
            _("• {municipality}: {registered}; came: {attended} ({percent})").format(
                municipality=html.escape(place),
                registered=registrations(line.registered, locale),
                attended=participants(line.attended, locale),
                percent=_share(line.attended, line.registered, locale),
            )
        )
    if not report.lines:
        lines += ["", _("No registrations in this period.")]
    lines += ["", _("<b>Programme targets</b> (people who came, each counted once)")]
    lines += [_target_line(progress, locale) for progress in report.targets]
    return "\n".join(lines)
