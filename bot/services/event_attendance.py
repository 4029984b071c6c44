"""Attendance (check-in codes, the list with buttons), reports for the funder, exports.

An organizer marks a registered resident as attended by the check-in code the resident
shows (typed or scanned) or from the list. Marking is one conditional UPDATE: a code
scanned twice, or by two organizers at once, is marked once.

Reports count registrations kept after erasure too (anonymous rows), so the figures a
funder saw do not change when a resident erases their data.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.collation import lithuanian_sort_key
from bot.services.event_registrations import normalize_code
from models import (
    Event,
    EventKind,
    EventStatus,
    Municipality,
    Registration,
    RegistrationStatus,
    utcnow,
)

# --- marking attendance ---------------------------------------------------------------


class AttendanceOutcome(enum.StrEnum):
    MARKED = "marked"
    UNMARKED = "unmarked"
    ALREADY = "already"  # marked (or unmarked) before: a second scan, a double tap
    REFUSED = "refused"


class AttendanceRefusal(enum.StrEnum):
    EVENT_NOT_FOUND = "event_not_found"
    EVENT_CANCELLED = "event_cancelled"
    UNKNOWN_CODE = "unknown_code"  # no registration has it (or no such registration id)
    OTHER_EVENT = "other_event"  # a registration to another event; see ``registration``
    NOT_REGISTERED = "not_registered"  # waitlisted, offered or cancelled: no place


@dataclass(frozen=True, slots=True)
class AttendanceResult:
    outcome: AttendanceOutcome
    refusal: AttendanceRefusal | None = None
    registration: Registration | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not AttendanceOutcome.REFUSED


async def _set_attendance(
    session: AsyncSession,
    event_id: int,
    found: ColumnElement[bool],
    *,
    attended: bool,
    by: int,
    now: datetime,
) -> AttendanceResult:
    event = await session.get(Event, event_id)
    if event is None:
        return AttendanceResult(AttendanceOutcome.REFUSED, AttendanceRefusal.EVENT_NOT_FOUND)
    if event.status is EventStatus.CANCELLED:
        return AttendanceResult(AttendanceOutcome.REFUSED, AttendanceRefusal.EVENT_CANCELLED)
    changed = await session.scalar(
        update(Registration)
        .where(
            found,
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.REGISTERED,
            Registration.attended_at.is_(None)
            if attended
            else Registration.attended_at.is_not(None),
        )
        .values(attended_at=now if attended else None, marked_by=by, updated_at=now)
        .returning(Registration)
        .execution_options(synchronize_session="fetch", populate_existing=True)
    )
    if changed is not None:
        outcome = AttendanceOutcome.MARKED if attended else AttendanceOutcome.UNMARKED
        return AttendanceResult(outcome, None, changed)
    registration = await session.scalar(
        select(Registration).where(found).execution_options(populate_existing=True)
    )
    if registration is None:
        return AttendanceResult(AttendanceOutcome.REFUSED, AttendanceRefusal.UNKNOWN_CODE)
    if registration.event_id != event_id:
        return AttendanceResult(
            AttendanceOutcome.REFUSED, AttendanceRefusal.OTHER_EVENT, registration
        )
    if registration.status is not RegistrationStatus.REGISTERED:
        return AttendanceResult(
            AttendanceOutcome.REFUSED, AttendanceRefusal.NOT_REGISTERED, registration
        )
    return AttendanceResult(AttendanceOutcome.ALREADY, None, registration)


async def mark_attended(
    session: AsyncSession, event_id: int, code: str, *, by: int, now: datetime | None = None
) -> AttendanceResult:
    """Mark attendance by the check-in code (typed in any case, with spaces or dashes)."""
    found = Registration.checkin_code == normalize_code(code)
    return await _set_attendance(
        session, event_id, found, attended=True, by=by, now=now or utcnow()
    )


async def mark_attended_by_id(
    session: AsyncSession,
    event_id: int,
    registration_id: int,
    *,
    by: int,
    now: datetime | None = None,
) -> AttendanceResult:
    """Mark attendance from the list (a button carries the registration id)."""
    found = Registration.id == registration_id
    return await _set_attendance(
        session, event_id, found, attended=True, by=by, now=now or utcnow()
    )


async def unmark_attended(
    session: AsyncSession,
    event_id: int,
    registration_id: int,
    *,
    by: int,
    now: datetime | None = None,
) -> AttendanceResult:
    """Undo a mark made by mistake."""
    found = Registration.id == registration_id
    return await _set_attendance(
        session, event_id, found, attended=False, by=by, now=now or utcnow()
    )


@dataclass(frozen=True, slots=True)
class AttendanceEntry:
    registration_id: int
    checkin_code: str
    display_name: str | None  # only when the resident agreed to share it
    organization: str | None
    attended_at: datetime | None

    @property
    def attended(self) -> bool:
        return self.attended_at is not None


async def attendance_list(session: AsyncSession, event_id: int) -> list[AttendanceEntry]:
    """Registered residents for the attendance buttons: named ones in Lithuanian
    alphabetical order, then the others by check-in code."""
    rows = await session.execute(
        select(
            Registration.id,
            Registration.checkin_code,
            case((Registration.share_name.is_(True), Registration.display_name)),
            Registration.organization,
            Registration.attended_at,
        ).where(
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.REGISTERED,
        )
    )
    entries = [AttendanceEntry(*row) for row in rows]
    entries.sort(
        key=lambda e: (
            e.display_name is None,
            lithuanian_sort_key(e.display_name or ""),
            e.checkin_code,
        )
    )
    return entries


# --- reports --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A programme's goal: ``goal`` people taking part in events of ``kinds``."""

    name: str  # a key the caller translates: "trained", "discussions", "study_visit"
    kinds: frozenset[EventKind]
    goal: int


# Which kinds of event count towards each target (the goals are settings: EVENT_TARGETS).
TARGET_KINDS: dict[str, frozenset[EventKind]] = {
    "trained": frozenset({EventKind.TRAINING}),
    "discussions": frozenset({EventKind.DISCUSSION, EventKind.FOCUS_GROUP}),
    "study_visit": frozenset({EventKind.STUDY_VISIT}),
}


def targets_from(goals: Mapping[str, int]) -> tuple[Target, ...]:
    """The report's targets for ``{name: goal}`` (a goal of 0 leaves the target out)."""
    return tuple(
        Target(name, kinds, goals[name])
        for name, kinds in TARGET_KINDS.items()
        if goals.get(name, 0) > 0
    )


# The founding programme: 10 municipalities × 30 trained, about 450 in public discussions
# and focus groups, 33 on the study visit (3 per partner); the settings' default too.
DEFAULT_TARGETS: tuple[Target, ...] = targets_from(
    {"trained": 300, "discussions": 450, "study_visit": 33}
)


@dataclass(frozen=True, slots=True)
class ReportLine:
    """Registrations to events of one kind by residents of one municipality (where they
    lived when registering; None: not recorded)."""

    kind: EventKind
    municipality_id: int | None
    municipality_code: str | None
    municipality_name_lt: str | None
    municipality_name_en: str | None
    events: int  # events of this kind with at least one such registration
    registered: int
    attended: int


@dataclass(frozen=True, slots=True)
class TargetProgress:
    """People (a resident who came to two trainings counts once; erased residents each
    count as one) registered to and attending events of the target's kinds."""

    target: Target
    registered: int
    attended: int

    @property
    def percent(self) -> float:
        """Attended, in % of the goal."""
        return 100.0 * self.attended / self.target.goal if self.target.goal else 0.0


@dataclass(frozen=True, slots=True)
class EventReport:
    since: datetime | None
    until: datetime | None
    lines: list[ReportLine]  # by kind, then municipality in Lithuanian alphabetical order
    registered: int  # registrations (people registered to two events count twice)
    attended: int
    targets: list[TargetProgress]


def _report_filter(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Event.status != EventStatus.CANCELLED,
        Registration.status == RegistrationStatus.REGISTERED,
    ]
    if since is not None:
        where.append(Event.starts_at >= since)
    if until is not None:
        where.append(Event.starts_at < until)
    return where


def _people(condition: ColumnElement[bool] | None = None) -> Any:
    """Distinct residents (meeting ``condition``), each anonymous (erased) row as one."""
    if condition is None:
        resident: Any = Registration.resident_id
        anonymous: ColumnElement[bool] = Registration.resident_id.is_(None)
    else:
        resident = case((condition, Registration.resident_id))
        anonymous = and_(Registration.resident_id.is_(None), condition)
    return func.count(distinct(resident)) + func.count(case((anonymous, 1)))


async def report(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    targets: Sequence[Target] = DEFAULT_TARGETS,
) -> EventReport:
    """Participants by event kind and municipality, registered against attended, and the
    totals against the programme's targets; events starting in [since, until), cancelled
    events left out."""
    where = _report_filter(since, until)
    kind_order = {kind: index for index, kind in enumerate(EventKind)}
    rows = await session.execute(
        select(
            Event.kind,
            Registration.municipality_id,
            Municipality.code,
            Municipality.name_lt,
            Municipality.name_en,
            func.count(distinct(Event.id)),
            func.count(),
            func.count(Registration.attended_at),
        )
        .select_from(Registration)
        .join(Event, Event.id == Registration.event_id)
        .outerjoin(Municipality, Municipality.id == Registration.municipality_id)
        .where(*where)
        .group_by(
            Event.kind,
            Registration.municipality_id,
            Municipality.code,
            Municipality.name_lt,
            Municipality.name_en,
        )
    )
    lines = [ReportLine(*row) for row in rows]
    lines.sort(
        key=lambda line: (
            kind_order[line.kind],
            line.municipality_name_lt is None,
            lithuanian_sort_key(line.municipality_name_lt or ""),
        )
    )
    progress = []
    for target in targets:
        people = (
            await session.execute(
                select(_people(), _people(Registration.attended_at.is_not(None)))
                .select_from(Registration)
                .join(Event, Event.id == Registration.event_id)
                .where(*where, Event.kind.in_(sorted(target.kinds)))
            )
        ).one()
        progress.append(TargetProgress(target, int(people[0]), int(people[1])))
    return EventReport(
        since,
        until,
        lines,
        sum(line.registered for line in lines),
        sum(line.attended for line in lines),
        progress,
    )


# --- exports --------------------------------------------------------------------------


EXPORT_COLUMNS = (
    "registration",
    "status",
    "waitlist_since",
    "municipality",
    "organization",
    "name",
    "checkin_code",
    "source",
    "registered_at",
    "attended_at",
)


@dataclass(frozen=True, slots=True)
class ExportRow:
    registration_id: int
    status: RegistrationStatus
    waitlisted_at: datetime | None
    municipality: str | None  # code, where the resident lived when registering
    organization: str | None
    name: str | None  # only when the resident agreed to share it
    checkin_code: str
    source: str | None  # the src tag of the link or poster
    registered_at: datetime
    attended_at: datetime | None
    answers: tuple[str, ...]  # one per registration question, in order ("" unanswered)


def export_columns(event: Event) -> tuple[str, ...]:
    """The header: the fixed columns, then the event's registration questions."""
    return (*EXPORT_COLUMNS, *(question.text for question in event.questions))


_STATUS_ORDER = case(
    (Registration.status == RegistrationStatus.REGISTERED, 0),
    (Registration.status == RegistrationStatus.OFFERED, 1),
    (Registration.status == RegistrationStatus.WAITLISTED, 2),
    else_=3,
)


async def export_rows(
    session: AsyncSession, event_id: int, *, batch: int = 1000
) -> AsyncIterator[ExportRow]:
    """One row per registration, streamed: registered, offered, waitlisted (in waitlist
    order), then the cancelled, declined and expired ones. Names only where shared."""
    event = await session.get(Event, event_id)
    if event is None:
        return
    question_ids = [str(question.id) for question in event.questions]
    query = (
        select(
            Registration.id,
            Registration.status,
            Registration.waitlisted_at,
            Municipality.code,
            Registration.organization,
            case((Registration.share_name.is_(True), Registration.display_name)),
            Registration.checkin_code,
            Registration.source,
            Registration.created_at,
            Registration.attended_at,
            Registration.answers,
        )
        .outerjoin(Municipality, Municipality.id == Registration.municipality_id)
        .where(Registration.event_id == event_id)
        .order_by(_STATUS_ORDER, Registration.waitlisted_at, Registration.id)
        .execution_options(yield_per=batch)
    )
    result = await session.stream(query)
    async for row in result:
        (
            registration_id,
            status,
            waitlisted_at,
            municipality,
            organization,
            name,
            code,
            source,
            registered_at,
            attended_at,
            answers,
        ) = tuple(row)
        given: dict[str, str] = answers or {}
        yield ExportRow(
            registration_id,
            status,
            waitlisted_at,
            municipality,
            organization,
            name,
            code,
            source,
            registered_at,
            attended_at,
            tuple(given.get(question_id, "") for question_id in question_ids),
        )
