"""Events: creating, changing and cancelling them, what residents and organizers see, and
the accounting of places.

Capacity is never exceeded. Everything that changes who holds a place locks the event row
first (:func:`lock_event`: ``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer at
a time, see ``bot/db.py``) and counts after. A place is held by a registration that is
*registered* or *offered* (an offer holds the place until it is answered).

Registering, the waitlist and offers are in :mod:`bot.services.event_registrations`;
reminders in :mod:`bot.services.event_reminders`; attendance, reports and exports in
:mod:`bot.services.event_attendance`. The services send nothing: results carry the
registrations the caller must tell about.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audiences import Audience
from bot.services.event_reminders import MAX_REMINDER_OFFSET, reschedule_reminders
from models import (
    Event,
    EventKind,
    EventQuestion,
    EventStatus,
    Municipality,
    Registration,
    RegistrationStatus,
    Resident,
    utcnow,
)
from models.events import (
    ACTIVE_STATUSES,
    ADDRESS_MAX_LENGTH,
    DEFAULT_OFFER_HOURS,
    DEFAULT_REMINDER_OFFSETS,
    PLACE_STATUSES,
    QUESTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    URL_MAX_LENGTH,
    event_municipalities,
)

DESCRIPTION_MAX_LENGTH = 3000  # shown with the date and place in one message (≤ 4096)
MAX_QUESTIONS = 10
MAX_CAPACITY = 100_000
MAX_REMINDERS = 5
MAX_OFFER_HOURS = 7 * 24
CAPACITY_THRESHOLDS = (50, 80, 100)  # % of capacity taken; the organizer is told once each


# --- creating and changing ------------------------------------------------------------


class EventProblem(enum.StrEnum):
    TITLE_EMPTY = "title_empty"
    TITLE_TOO_LONG = "title_too_long"
    DESCRIPTION_TOO_LONG = "description_too_long"
    NO_MUNICIPALITY = "no_municipality"
    UNKNOWN_MUNICIPALITY = "unknown_municipality"  # no such id, or not active
    NO_PLACE = "no_place"  # neither an address nor an online link
    ADDRESS_TOO_LONG = "address_too_long"
    BAD_URL = "bad_url"  # not http(s)://, spaces, or too long
    BAD_POINT = "bad_point"  # only one coordinate, or out of range
    TIME_WITHOUT_ZONE = "time_without_zone"
    END_BEFORE_START = "end_before_start"
    START_IN_PAST = "start_in_past"
    DEADLINE_AFTER_START = "deadline_after_start"
    BAD_CAPACITY = "bad_capacity"  # below 1 or above MAX_CAPACITY
    BAD_QUOTA = "bad_quota"  # below 1
    TOO_MANY_QUESTIONS = "too_many_questions"
    QUESTION_EMPTY = "question_empty"
    QUESTION_TOO_LONG = "question_too_long"
    BAD_REMINDERS = "bad_reminders"  # more than 5, or outside 1 minute – 30 days
    BAD_OFFER_HOURS = "bad_offer_hours"  # outside 1–168
    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    CANCELLED = "cancelled"  # a cancelled event cannot be changed
    FINISHED = "finished"  # nor one that has ended
    CAPACITY_BELOW_TAKEN = "capacity_below_taken"  # ``limit``: places taken now
    QUESTIONS_LOCKED = "questions_locked"  # someone registered (their answers refer to them)


class EventError(Exception):
    """Why an event cannot be created or changed; ``question`` is a 1-based position,
    ``limit`` the bound that was broken."""

    def __init__(
        self, problem: EventProblem, *, question: int | None = None, limit: int | None = None
    ) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.question = question
        self.limit = limit

    def __repr__(self) -> str:
        return f"EventError({self.problem.value}, question={self.question}, limit={self.limit})"


@dataclass(frozen=True, slots=True)
class EventSpec:
    """Everything an organizer decides about an event (times in UTC, timezone-aware).

    ``registration_deadline`` None: registration closes when the event starts.
    ``capacity`` None: unlimited. ``questions``: optional registration questions.
    ``offer_hours``: how long a freed place is held for the first on the waitlist (pass the
    deployment's setting when the organizer did not choose).
    """

    kind: EventKind
    title: str
    starts_at: datetime
    ends_at: datetime
    municipality_ids: frozenset[int]
    description: str = ""
    place_address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    capacity: int | None = None
    registration_deadline: datetime | None = None
    per_organization_quota: int | None = None
    audience: Audience = field(default_factory=Audience)
    questions: tuple[str, ...] = ()
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    offer_hours: int = DEFAULT_OFFER_HOURS


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _aware(moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise EventError(EventProblem.TIME_WITHOUT_ZONE)


def validate(
    spec: EventSpec, *, now: datetime, previous_start: datetime | None = None
) -> EventSpec:
    """Check everything before anything is written; returns the spec cleaned (texts
    stripped, reminder offsets unique and latest first). Raises :class:`EventError`.

    ``previous_start`` (when changing an event): a start in the past is accepted when it
    is the one the event already had."""
    title = spec.title.strip()
    if not title:
        raise EventError(EventProblem.TITLE_EMPTY)
    if len(title) > TITLE_MAX_LENGTH:
        raise EventError(EventProblem.TITLE_TOO_LONG, limit=TITLE_MAX_LENGTH)
    description = spec.description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise EventError(EventProblem.DESCRIPTION_TOO_LONG, limit=DESCRIPTION_MAX_LENGTH)
    if not spec.municipality_ids:
        raise EventError(EventProblem.NO_MUNICIPALITY)
    address = _optional_text(spec.place_address)
    if address is not None and len(address) > ADDRESS_MAX_LENGTH:
        raise EventError(EventProblem.ADDRESS_TOO_LONG, limit=ADDRESS_MAX_LENGTH)
    url = _optional_text(spec.online_url)
    if url is not None and (
        not url.startswith(("https://", "http://"))
        or len(url) > URL_MAX_LENGTH
        or any(c.isspace() for c in url)
        or len(url) <= len("https://")
    ):
        raise EventError(EventProblem.BAD_URL, limit=URL_MAX_LENGTH)
    if address is None and url is None:
        raise EventError(EventProblem.NO_PLACE)
    if (spec.latitude is None) != (spec.longitude is None) or (
        spec.latitude is not None
        and spec.longitude is not None
        and not (
            math.isfinite(spec.latitude)
            and math.isfinite(spec.longitude)
            and -90 <= spec.latitude <= 90
            and -180 <= spec.longitude <= 180
        )
    ):
        raise EventError(EventProblem.BAD_POINT)
    for moment in (spec.starts_at, spec.ends_at, spec.registration_deadline):
        _aware(moment)
    if spec.ends_at <= spec.starts_at:
        raise EventError(EventProblem.END_BEFORE_START)
    if spec.starts_at <= now and spec.starts_at != previous_start:
        raise EventError(EventProblem.START_IN_PAST)
    if spec.registration_deadline is not None and spec.registration_deadline > spec.starts_at:
        raise EventError(EventProblem.DEADLINE_AFTER_START)
    if spec.capacity is not None and not 1 <= spec.capacity <= MAX_CAPACITY:
        raise EventError(EventProblem.BAD_CAPACITY, limit=MAX_CAPACITY)
    if spec.per_organization_quota is not None and spec.per_organization_quota < 1:
        raise EventError(EventProblem.BAD_QUOTA)
    if len(spec.questions) > MAX_QUESTIONS:
        raise EventError(EventProblem.TOO_MANY_QUESTIONS, limit=MAX_QUESTIONS)
    questions = tuple(q.strip() for q in spec.questions)
    for number, text in enumerate(questions, start=1):
        if not text:
            raise EventError(EventProblem.QUESTION_EMPTY, question=number)
        if len(text) > QUESTION_MAX_LENGTH:
            raise EventError(
                EventProblem.QUESTION_TOO_LONG, question=number, limit=QUESTION_MAX_LENGTH
            )
    offsets = tuple(sorted(set(spec.reminder_offsets), reverse=True))
    if len(offsets) > MAX_REMINDERS or not all(
        1 <= offset <= MAX_REMINDER_OFFSET for offset in offsets
    ):
        raise EventError(EventProblem.BAD_REMINDERS, limit=MAX_REMINDERS)
    if not 1 <= spec.offer_hours <= MAX_OFFER_HOURS:
        raise EventError(EventProblem.BAD_OFFER_HOURS, limit=MAX_OFFER_HOURS)
    return EventSpec(
        kind=EventKind(spec.kind),
        title=title,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        municipality_ids=frozenset(spec.municipality_ids),
        description=description,
        place_address=address,
        latitude=spec.latitude,
        longitude=spec.longitude,
        online_url=url,
        capacity=spec.capacity,
        registration_deadline=spec.registration_deadline,
        per_organization_quota=spec.per_organization_quota,
        audience=spec.audience,
        questions=questions,
        reminder_offsets=offsets,
        offer_hours=spec.offer_hours,
    )


def spec_of(event: Event) -> EventSpec:
    """The event as a spec: change it with ``dataclasses.replace`` and pass it to
    :func:`update_event`."""
    return EventSpec(
        kind=event.kind,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        municipality_ids=event.municipality_ids,
        description=event.description,
        place_address=event.place_address,
        latitude=event.latitude,
        longitude=event.longitude,
        online_url=event.online_url,
        capacity=event.capacity,
        registration_deadline=event.registration_deadline,
        per_organization_quota=event.per_organization_quota,
        audience=Audience.from_json(event.audience),
        questions=tuple(q.text for q in event.questions),
        reminder_offsets=tuple(event.reminder_offsets),
        offer_hours=event.offer_hours,
    )


async def _municipalities(
    session: AsyncSession, ids: frozenset[int], already: frozenset[int] = frozenset()
) -> list[Municipality]:
    """The municipalities, all active (or already the event's)."""
    found = list(
        await session.scalars(
            select(Municipality)
            .where(
                Municipality.id.in_(sorted(ids)),
                or_(Municipality.is_active.is_(True), Municipality.id.in_(sorted(already))),
            )
            .order_by(Municipality.id)
        )
    )
    if len(found) != len(ids):
        raise EventError(EventProblem.UNKNOWN_MUNICIPALITY)
    return found


async def create_event(
    session: AsyncSession, spec: EventSpec, *, created_by: int, now: datetime | None = None
) -> Event:
    """A new published event, flushed (it has an id). Raises :class:`EventError`; nothing
    is written then."""
    now = now or utcnow()
    spec = validate(spec, now=now)
    municipalities = await _municipalities(session, spec.municipality_ids)
    event = Event(
        status=EventStatus.PUBLISHED,
        created_by=created_by,
        created_at=now,
        updated_at=now,
        capacity_notified=0,
        municipalities=municipalities,
        questions=[
            EventQuestion(position=number, text=text)
            for number, text in enumerate(spec.questions, start=1)
        ],
    )
    _apply(event, spec)
    session.add(event)
    await session.flush()
    return event


def _apply(event: Event, spec: EventSpec) -> None:
    """Copy the spec's plain fields (not municipalities nor questions) onto the event."""
    event.kind = spec.kind
    event.title = spec.title
    event.description = spec.description
    event.place_address = spec.place_address
    event.latitude = spec.latitude
    event.longitude = spec.longitude
    event.online_url = spec.online_url
    event.starts_at = spec.starts_at
    event.ends_at = spec.ends_at
    event.capacity = spec.capacity
    event.registration_deadline = spec.registration_deadline
    event.per_organization_quota = spec.per_organization_quota
    event.audience = spec.audience.to_json()
    event.reminder_offsets = list(spec.reminder_offsets)
    event.offer_hours = spec.offer_hours


async def get_event(session: AsyncSession, event_id: int) -> Event | None:
    """The event with its municipalities and questions (loaded)."""
    return await session.get(Event, event_id)


async def lock_event(session: AsyncSession, event_id: int) -> Event | None:
    """The event, its row locked until the transaction ends (PostgreSQL; on SQLite the
    transaction already holds the database's write lock) and read afresh."""
    return await session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _owned(session: AsyncSession, event_id: int, by: int, admin: bool) -> Event:
    event = await lock_event(session, event_id)
    if event is None:
        raise EventError(EventProblem.NOT_FOUND)
    if event.created_by != by and not admin:
        raise EventError(EventProblem.NOT_OWNER)
    return event


class EventField(enum.StrEnum):
    """What an edit changed; TIME and PLACE are what registered residents are told."""

    KIND = "kind"
    TITLE = "title"
    DESCRIPTION = "description"
    MUNICIPALITIES = "municipalities"
    TIME = "time"  # start or end
    PLACE = "place"  # address, map point or online link
    CAPACITY = "capacity"
    DEADLINE = "deadline"
    QUOTA = "quota"
    AUDIENCE = "audience"
    QUESTIONS = "questions"
    REMINDERS = "reminders"
    OFFER_HOURS = "offer_hours"


def _changed_fields(old: EventSpec, new: EventSpec) -> frozenset[EventField]:
    pairs: dict[EventField, tuple[object, object]] = {
        EventField.KIND: (old.kind, new.kind),
        EventField.TITLE: (old.title, new.title),
        EventField.DESCRIPTION: (old.description, new.description),
        EventField.MUNICIPALITIES: (old.municipality_ids, new.municipality_ids),
        EventField.TIME: ((old.starts_at, old.ends_at), (new.starts_at, new.ends_at)),
        EventField.PLACE: (
            (old.place_address, old.latitude, old.longitude, old.online_url),
            (new.place_address, new.latitude, new.longitude, new.online_url),
        ),
        EventField.CAPACITY: (old.capacity, new.capacity),
        EventField.DEADLINE: (old.registration_deadline, new.registration_deadline),
        EventField.QUOTA: (old.per_organization_quota, new.per_organization_quota),
        EventField.AUDIENCE: (old.audience.to_json(), new.audience.to_json()),
        EventField.QUESTIONS: (old.questions, new.questions),
        EventField.REMINDERS: (old.reminder_offsets, new.reminder_offsets),
        EventField.OFFER_HOURS: (old.offer_hours, new.offer_hours),
    }
    return frozenset(name for name, (before, after) in pairs.items() if before != after)


@dataclass(frozen=True, slots=True)
class EventUpdate:
    """What an edit did.

    ``notify``: when the time or the place changed, every registered, waitlisted and
    offered registration (tell them what changed), else empty. ``offered``: waitlisted
    registrations given an offer because the capacity grew. ``thresholds``: capacity
    thresholds (50/80/100) newly reached because the capacity shrank."""

    event: Event
    changed: frozenset[EventField]
    notify: list[Registration] = field(default_factory=list)
    offered: list[Registration] = field(default_factory=list)
    thresholds: tuple[int, ...] = ()

    @property
    def time_changed(self) -> bool:
        return EventField.TIME in self.changed

    @property
    def place_changed(self) -> bool:
        return EventField.PLACE in self.changed


async def update_event(
    session: AsyncSession,
    event_id: int,
    spec: EventSpec,
    *,
    by: int,
    admin: bool = False,
    now: datetime | None = None,
) -> EventUpdate:
    """Change an event to ``spec`` (build it with ``dataclasses.replace(spec_of(event), …)``).

    Raises :class:`EventError` (nothing is written then): not the organizer's own event,
    cancelled or finished, a capacity below the places already taken, questions changed
    after someone registered. Reminders follow a new time: those now in the future will be
    sent (again), those already past are skipped (the change notice says it)."""
    now = now or utcnow()
    event = await _owned(session, event_id, by, admin)
    if event.status is EventStatus.CANCELLED:
        raise EventError(EventProblem.CANCELLED)
    if event.ends_at <= now:
        raise EventError(EventProblem.FINISHED)
    old = spec_of(event)
    new = validate(spec, now=now, previous_start=event.starts_at)
    changed = _changed_fields(old, new)
    if not changed:
        return EventUpdate(event, changed)
    taken = await taken_places(session, event.id)
    if new.capacity is not None and new.capacity < taken:
        raise EventError(EventProblem.CAPACITY_BELOW_TAKEN, limit=taken)
    if EventField.QUESTIONS in changed and await _has_registrations(session, event.id):
        raise EventError(EventProblem.QUESTIONS_LOCKED)
    if EventField.MUNICIPALITIES in changed:
        event.municipalities = await _municipalities(
            session, new.municipality_ids, old.municipality_ids
        )
    if EventField.QUESTIONS in changed:
        event.questions.clear()
        await session.flush()  # the old positions go before the new ones take them
        event.questions.extend(
            EventQuestion(position=number, text=text)
            for number, text in enumerate(new.questions, start=1)
        )
    _apply(event, new)
    event.updated_at = now
    if changed & {EventField.TIME, EventField.REMINDERS}:
        await reschedule_reminders(session, event, now)
    offered: list[Registration] = []
    thresholds: tuple[int, ...] = ()
    if EventField.CAPACITY in changed:
        offered = await fill_from_waitlist(session, event, now)
        thresholds = _reset_thresholds(event, await taken_places(session, event.id))
    notify: list[Registration] = []
    if changed & {EventField.TIME, EventField.PLACE}:
        notify = await active_registrations(session, event.id)
    await session.flush()
    return EventUpdate(event, changed, notify, offered, thresholds)


@dataclass(frozen=True, slots=True)
class EventCancellation:
    """``cancelled`` False: it was cancelled already (a double tap), nobody to tell again.
    ``notify``: every registered, waitlisted and offered registration."""

    event: Event
    cancelled: bool
    notify: list[Registration] = field(default_factory=list)


async def cancel_event(
    session: AsyncSession,
    event_id: int,
    *,
    by: int,
    admin: bool = False,
    now: datetime | None = None,
) -> EventCancellation:
    """Cancel an event that has not ended. Registrations keep their status (the record of
    who had registered); a cancelled event takes no registrations, offers nor reminders."""
    now = now or utcnow()
    event = await _owned(session, event_id, by, admin)
    if event.status is EventStatus.CANCELLED:
        return EventCancellation(event, False)
    if event.ends_at <= now:
        raise EventError(EventProblem.FINISHED)
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    event.updated_at = now
    notify = await active_registrations(session, event.id)
    await session.flush()
    return EventCancellation(event, True, notify)


# --- places: counted under the event's row lock ------------------------------------


def _reached(event: Event, taken: int) -> int:
    if event.capacity is None:
        return 0
    capacity = event.capacity
    return max((t for t in CAPACITY_THRESHOLDS if taken * 100 >= t * capacity), default=0)


def crossed_thresholds(event: Event, taken: int) -> tuple[int, ...]:
    """Thresholds reached for the first time (the event row is locked: no one else
    tells the organizer the same)."""
    reached = _reached(event, taken)
    if reached <= event.capacity_notified:
        return ()
    crossed = tuple(t for t in CAPACITY_THRESHOLDS if event.capacity_notified < t <= reached)
    event.capacity_notified = reached
    return crossed


def _reset_thresholds(event: Event, taken: int) -> tuple[int, ...]:
    """After a capacity change: the organizer is told about thresholds newly reached, and
    those no longer reached will be told again when they are."""
    crossed = crossed_thresholds(event, taken)
    event.capacity_notified = _reached(event, taken)
    return crossed


async def _has_registrations(session: AsyncSession, event_id: int) -> bool:
    found = await session.scalar(
        select(Registration.id).where(Registration.event_id == event_id).limit(1)
    )
    return found is not None


async def active_registrations(session: AsyncSession, event_id: int) -> list[Registration]:
    return list(
        await session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status.in_(ACTIVE_STATUSES),
                Registration.resident_id.is_not(None),
            )
            .order_by(Registration.id)
        )
    )


async def fill_from_waitlist(
    session: AsyncSession, event: Event, now: datetime
) -> list[Registration]:
    """Offer the free places to the first on the waitlist (the event row is locked)."""
    if event.status is not EventStatus.PUBLISHED or event.starts_at <= now:
        return []
    query = (
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.WAITLISTED,
        )
        .order_by(Registration.waitlisted_at, Registration.id)
    )
    if event.capacity is not None:
        free = event.capacity - await taken_places(session, event.id)
        if free <= 0:
            return []
        query = query.limit(free)
    waiting = list(await session.scalars(query))
    expires = min(now + timedelta(hours=event.offer_hours), event.starts_at)
    for registration in waiting:
        registration.status = RegistrationStatus.OFFERED
        registration.offer_expires_at = expires
        registration.updated_at = now
    await session.flush()
    return waiting


async def waitlist_position(session: AsyncSession, registration: Registration) -> int | None:
    """The place on the waitlist, from 1 (None when not waitlisted)."""
    if registration.status is not RegistrationStatus.WAITLISTED:
        return None
    assert registration.waitlisted_at is not None
    ahead = await session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            or_(
                Registration.waitlisted_at < registration.waitlisted_at,
                and_(
                    Registration.waitlisted_at == registration.waitlisted_at,
                    Registration.id < registration.id,
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


# --- what residents see ---------------------------------------------------------------


class EventState(enum.StrEnum):
    UPCOMING = "upcoming"
    ONGOING = "ongoing"
    FINISHED = "finished"
    CANCELLED = "cancelled"


def state(event: Event, now: datetime | None = None) -> EventState:
    now = now or utcnow()
    if event.status is EventStatus.CANCELLED:
        return EventState.CANCELLED
    if event.ends_at <= now:
        return EventState.FINISHED
    return EventState.ONGOING if event.starts_at <= now else EventState.UPCOMING


def _taken_subquery() -> Any:
    return (
        select(Registration.event_id, func.count().label("taken"))
        .where(Registration.status.in_(PLACE_STATUSES))
        .group_by(Registration.event_id)
        .subquery()
    )


async def taken_places(session: AsyncSession, event_id: int) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event_id, Registration.status.in_(PLACE_STATUSES))
    )
    return int(total or 0)


def _left(capacity: int | None, taken: int) -> int | None:
    return None if capacity is None else max(capacity - taken, 0)


async def places_left(session: AsyncSession, event: Event | int) -> int | None:
    """Places not taken (registered or held by an offer); None: unlimited."""
    if isinstance(event, int):
        found = await session.get(Event, event)
        if found is None:
            return None
        event = found
    return _left(event.capacity, await taken_places(session, event.id))


def in_audience(event: Event, resident: Resident) -> bool:
    """The resident lives in one of the event's municipalities and matches its audience
    (municipality and age group conditions)."""
    if resident.municipality_id is None or resident.municipality_id not in event.municipality_ids:
        return False
    audience = Audience.from_json(event.audience)
    if audience.municipality_ids and resident.municipality_id not in audience.municipality_ids:
        return False
    return not audience.age_groups or resident.age_group in audience.age_groups


@dataclass(frozen=True, slots=True)
class UpcomingEvent:
    event: Event
    places_left: int | None  # None: unlimited
    registration_open: bool  # before the deadline
    my_status: RegistrationStatus | None  # the resident's registration, if any


async def list_upcoming_for(
    session: AsyncSession, resident: Resident, *, now: datetime | None = None
) -> list[UpcomingEvent]:
    """Published events of the resident's municipality and audience that have not ended,
    soonest first, with the places left (counted in SQL) and the resident's status."""
    now = now or utcnow()
    if resident.municipality_id is None:
        return []
    taken = _taken_subquery()
    rows = await session.execute(
        select(Event, func.coalesce(taken.c.taken, 0))
        .outerjoin(taken, taken.c.event_id == Event.id)
        .where(
            Event.status == EventStatus.PUBLISHED,
            Event.ends_at > now,
            exists().where(
                event_municipalities.c.event_id == Event.id,
                event_municipalities.c.municipality_id == resident.municipality_id,
            ),
        )
        .order_by(Event.starts_at, Event.id)
    )
    found = [(event, int(n)) for event, n in rows if in_audience(event, resident)]
    if not found:
        return []
    rows = await session.execute(
        select(Registration.event_id, Registration.status).where(
            Registration.resident_id == resident.id,
            Registration.event_id.in_([event.id for event, _ in found]),
        )
    )
    mine: dict[int, RegistrationStatus] = dict(rows.all())
    return [
        UpcomingEvent(
            event,
            _left(event.capacity, n),
            now < event.effective_deadline,
            mine.get(event.id),
        )
        for event, n in found
    ]


@dataclass(frozen=True, slots=True)
class EventSummary:
    event: Event
    registered: int
    waitlisted: int
    offered: int
    attended: int

    @property
    def places_left(self) -> int | None:
        return _left(self.event.capacity, self.registered + self.offered)


async def _summaries(session: AsyncSession, events: Sequence[Event]) -> list[EventSummary]:
    if not events:
        return []
    counts: dict[tuple[int, RegistrationStatus], int] = {}
    attended: dict[int, int] = {}
    rows = await session.execute(
        select(
            Registration.event_id,
            Registration.status,
            func.count(),
            func.count(Registration.attended_at),
        )
        .where(Registration.event_id.in_([e.id for e in events]))
        .group_by(Registration.event_id, Registration.status)
    )
    for event_id, status, n, came in rows:
        counts[(event_id, status)] = n
        attended[event_id] = attended.get(event_id, 0) + came
    return [
        EventSummary(
            e,
            counts.get((e.id, RegistrationStatus.REGISTERED), 0),
            counts.get((e.id, RegistrationStatus.WAITLISTED), 0),
            counts.get((e.id, RegistrationStatus.OFFERED), 0),
            attended.get(e.id, 0),
        )
        for e in events
    ]


async def summary(session: AsyncSession, event_id: int) -> EventSummary | None:
    event = await session.get(Event, event_id)
    if event is None:
        return None
    return (await _summaries(session, [event]))[0]


async def list_for_organizer(
    session: AsyncSession,
    created_by: int | None,
    *,
    include_finished: bool = False,
    now: datetime | None = None,
    limit: int = 50,
) -> list[EventSummary]:
    """The organizer's events (everyone's when ``created_by`` is None), soonest first;
    finished ones (latest first, after the others) only with ``include_finished``."""
    now = now or utcnow()
    query = select(Event).limit(limit)
    if created_by is not None:
        query = query.where(Event.created_by == created_by)
    if include_finished:
        query = query.order_by(Event.ends_at <= now, Event.starts_at, Event.id)
    else:
        query = query.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)
    return await _summaries(session, list(await session.scalars(query)))
