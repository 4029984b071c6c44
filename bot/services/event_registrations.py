"""Registering to events: registrations, the waitlist and its timed offers, a resident's
registrations, and erasure.

Rules the interface relies on:

- Capacity is never exceeded: every function here that changes who holds a place locks
  the event row first (:func:`bot.services.events.lock_event`) and counts after. The
  per-organization quota counts *registered*, *offered* and *waitlisted* registrations
  (an organization cannot fill the waitlist past its quota either).
- Registering twice is one registration (a UNIQUE key); a cancelled, declined or expired
  one is taken up again, with its check-in code.
- A freed place goes to the first on the waitlist as an *offer* that expires after the
  event's ``offer_hours`` (never after the start); only :func:`accept_offer` turns it into
  a registration, so a resident is never registered without knowing.
- Results carry whom the caller must tell (offers made, thresholds reached); a refusal
  changes nothing and says why in ``refusal``.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.events import (
    crossed_thresholds,
    fill_from_waitlist,
    in_audience,
    lock_event,
    taken_places,
    waitlist_position,
)
from models import Event, EventStatus, Registration, RegistrationStatus, Resident, utcnow
from models.events import (
    ACTIVE_STATUSES,
    CHECKIN_CODE_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    ORGANIZATION_MAX_LENGTH,
    SOURCE_MAX_LENGTH,
)

ANSWER_MAX_LENGTH = 500
# Letters only (Lithuanian keyboards type ą č ę … on the digit row), without look-alikes
# (I, O, Q, B, D, G, S, Z) nor letters outside the Lithuanian alphabet (W, X).
CHECKIN_ALPHABET = "ACEFHJKLMNPRTUVY"
_CODE_ATTEMPTS = 8


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


# --- registering ----------------------------------------------------------------------


class Refusal(enum.StrEnum):
    NOT_FOUND = "not_found"  # no such event or registration (stale or forged id)
    EVENT_CANCELLED = "event_cancelled"
    DEADLINE_PASSED = "deadline_passed"  # registration closed (also once the event started)
    NOT_ONBOARDED = "not_onboarded"
    OUTSIDE_MUNICIPALITY = "outside_municipality"  # the event is not in their municipality
    OUTSIDE_AUDIENCE = "outside_audience"  # e.g. another age group
    ORGANIZATION_REQUIRED = "organization_required"  # the event has a per-organization quota
    QUOTA_FULL = "quota_full"  # the organization's places (and waitlist places) are taken
    BAD_ANSWERS = "bad_answers"  # an answer to a question the event has not, or too long
    EVENT_STARTED = "event_started"  # cancelling once it started
    NO_OFFER = "no_offer"  # accepting or declining what is not an offer
    OFFER_EXPIRED = "offer_expired"  # accepting too late: the place went on


def can_register(event: Event, resident: Resident, now: datetime | None = None) -> Refusal | None:
    """Why the resident may not register now (None: they may). Needs no database, so a
    handler can check before asking the registration questions."""
    now = now or utcnow()
    if event.status is EventStatus.CANCELLED:
        return Refusal.EVENT_CANCELLED
    if now >= event.effective_deadline:
        return Refusal.DEADLINE_PASSED
    if resident.onboarded_at is None:
        return Refusal.NOT_ONBOARDED
    if resident.municipality_id is None or resident.municipality_id not in event.municipality_ids:
        return Refusal.OUTSIDE_MUNICIPALITY
    if not in_audience(event, resident):
        return Refusal.OUTSIDE_AUDIENCE
    return None


class RegistrationOutcome(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"  # the event is full; ``position`` on the waitlist
    ALREADY = "already"  # registered, waitlisted or offered before: nothing changed
    REFUSED = "refused"  # nothing was written; see ``refusal``


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """``registration.status`` says where an ALREADY registration stands (an OFFERED one
    waits for :func:`accept_offer`). ``thresholds``: capacity thresholds (50/80/100)
    newly reached, to tell the organizer (``event.created_by``) once each. ``offered``:
    waitlisted residents given an offer first (a place freed without one, e.g. by an
    erasure), to be told."""

    outcome: RegistrationOutcome
    refusal: Refusal | None = None
    registration: Registration | None = None
    event: Event | None = None
    position: int | None = None  # on the waitlist, from 1
    thresholds: tuple[int, ...] = ()
    offered: list[Registration] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome is not RegistrationOutcome.REFUSED


_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans("", "", "\"'„“”«»")


def organization_key(organization: str) -> str:
    """What makes two spellings the same organization: case, spaces and quotes aside
    (``Bendruomenė „Saulėtekis“`` = ``bendruomenė saulėtekis``)."""
    return _SPACES.sub(" ", organization.translate(_QUOTES)).strip().casefold()


def _clean_answers(event: Event, answers: Mapping[int, str] | None) -> dict[str, str] | None:
    """Answers by question id, stripped, empty ones dropped; ValueError when a question is
    not the event's or an answer is too long."""
    if not answers:
        return None
    ids = {q.id for q in event.questions}
    cleaned: dict[str, str] = {}
    for question_id, text in answers.items():
        if question_id not in ids:
            raise ValueError(question_id)
        text = text.strip()
        if len(text) > ANSWER_MAX_LENGTH:
            raise ValueError(question_id)
        if text:
            cleaned[str(question_id)] = text
    return cleaned or None


def new_checkin_code() -> str:
    return "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(CHECKIN_CODE_LENGTH))


def normalize_code(code: str) -> str:
    """What an organizer typed, as stored: capitals, no spaces or dashes."""
    return re.sub(r"[\s\-]", "", code).upper()


async def _registration_of(
    session: AsyncSession, event_id: int, resident_id: int
) -> Registration | None:
    return await session.scalar(
        select(Registration)
        .where(Registration.event_id == event_id, Registration.resident_id == resident_id)
        .execution_options(populate_existing=True)
    )


async def _insert_registration(session: AsyncSession, registration: Registration) -> None:
    """Insert with a fresh check-in code; another registration may hold the same code
    (about one chance in 16.7 million per registration there is), so try a new one."""
    for attempt in range(_CODE_ATTEMPTS):
        registration.checkin_code = new_checkin_code()
        try:
            async with session.begin_nested():
                session.add(registration)
                await session.flush()
            return
        except IntegrityError:
            if attempt == _CODE_ATTEMPTS - 1:
                raise
            if registration in session:
                session.expunge(registration)


async def register(
    session: AsyncSession,
    event_id: int,
    resident: Resident,
    *,
    organization: str | None = None,
    answers: Mapping[int, str] | None = None,
    source: str | None = None,
    share_name: bool = False,
    display_name: str | None = None,
    now: datetime | None = None,
) -> RegistrationResult:
    """Register the resident, or put them on the waitlist when the event is full.

    ``answers``: registration questions' answers by question id. ``source``: the ``src``
    tag of the link or poster that brought them. ``display_name`` is kept only with
    ``share_name`` (the resident agreed that organizers see it)."""
    now = now or utcnow()
    event = await lock_event(session, event_id)
    if event is None:
        return RegistrationResult(RegistrationOutcome.REFUSED, Refusal.NOT_FOUND)
    if event.status is EventStatus.CANCELLED:
        return RegistrationResult(RegistrationOutcome.REFUSED, Refusal.EVENT_CANCELLED, None, event)
    existing = await _registration_of(session, event.id, resident.id)
    if existing is not None and existing.status in ACTIVE_STATUSES:
        return RegistrationResult(
            RegistrationOutcome.ALREADY,
            None,
            existing,
            event,
            await waitlist_position(session, existing),
        )
    refusal = can_register(event, resident, now)
    if refusal is not None:
        return RegistrationResult(RegistrationOutcome.REFUSED, refusal, None, event)
    try:
        clean_answers = _clean_answers(event, answers)
    except ValueError:
        return RegistrationResult(RegistrationOutcome.REFUSED, Refusal.BAD_ANSWERS, None, event)
    org = _optional_text(organization)
    org = _SPACES.sub(" ", org)[:ORGANIZATION_MAX_LENGTH] if org else None
    key = organization_key(org)[:ORGANIZATION_MAX_LENGTH] if org else None
    if event.per_organization_quota is not None:
        if not key:
            return RegistrationResult(
                RegistrationOutcome.REFUSED, Refusal.ORGANIZATION_REQUIRED, None, event
            )
        if await _organization_count(session, event.id, key) >= event.per_organization_quota:
            return RegistrationResult(RegistrationOutcome.REFUSED, Refusal.QUOTA_FULL, None, event)
    # Normally no one waits while places are free; a place freed without an offer (an
    # erasure) goes to the waitlist first, not to the newcomer.
    offered = await fill_from_waitlist(session, event, now)
    taken = await taken_places(session, event.id)
    has_place = event.capacity is None or taken < event.capacity
    status = RegistrationStatus.REGISTERED if has_place else RegistrationStatus.WAITLISTED
    if existing is not None:  # cancelled, declined or expired before: taken up again
        registration = existing
    else:
        registration = Registration(event_id=event.id, resident_id=resident.id, created_at=now)
    name = _optional_text(display_name) if share_name else None
    tag = _optional_text(source)
    registration.municipality_id = resident.municipality_id
    registration.status = status
    registration.organization = org
    registration.organization_key = key
    registration.answers = clean_answers
    registration.source = tag[:SOURCE_MAX_LENGTH] if tag else None
    registration.share_name = share_name
    registration.display_name = name[:DISPLAY_NAME_MAX_LENGTH] if name else None
    registration.waitlisted_at = None if has_place else now
    registration.offer_expires_at = None
    registration.cancelled_at = None
    registration.attended_at = None
    registration.marked_by = None
    registration.updated_at = now
    if existing is not None:
        await session.flush()
    else:
        await _insert_registration(session, registration)
    if has_place:
        return RegistrationResult(
            RegistrationOutcome.REGISTERED,
            None,
            registration,
            event,
            None,
            crossed_thresholds(event, taken + 1),
            offered,
        )
    return RegistrationResult(
        RegistrationOutcome.WAITLISTED,
        None,
        registration,
        event,
        await waitlist_position(session, registration),
        (),
        offered,
    )


async def _organization_count(session: AsyncSession, event_id: int, key: str) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == event_id,
            Registration.organization_key == key,
            Registration.status.in_(ACTIVE_STATUSES),
        )
    )
    return int(total or 0)


# --- cancelling, the waitlist and offers ----------------------------------------------


class CancelOutcome(enum.StrEnum):
    CANCELLED = "cancelled"
    ALREADY = "already"  # not active any more (a double tap)
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class CancelResult:
    """``previous``: the status before (a WAITLISTED one freed no place). ``offered``:
    waitlisted registrations given the freed place, to be told."""

    outcome: CancelOutcome
    refusal: Refusal | None = None
    registration: Registration | None = None
    event: Event | None = None
    previous: RegistrationStatus | None = None
    offered: list[Registration] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome is not CancelOutcome.REFUSED


async def _locked_registration(
    session: AsyncSession,
    registration_id: int | None,
    event_id: int | None,
    resident: Resident | None,
) -> tuple[Event, Registration] | None:
    """The registration and its event, event row locked first (always in this order, so
    two transactions cannot wait for each other). A registration of another resident is
    not found."""
    if registration_id is not None:
        event_id = await session.scalar(
            select(Registration.event_id).where(Registration.id == registration_id)
        )
    if event_id is None:
        return None
    event = await lock_event(session, event_id)
    if event is None:
        return None
    query = select(Registration).execution_options(populate_existing=True)
    if registration_id is not None:
        query = query.where(Registration.id == registration_id)
    elif resident is not None:
        query = query.where(
            Registration.event_id == event_id, Registration.resident_id == resident.id
        )
    else:
        return None
    registration = await session.scalar(query)
    if registration is None or (resident is not None and registration.resident_id != resident.id):
        return None
    return event, registration


async def cancel_registration(
    session: AsyncSession,
    registration_id: int | None = None,
    *,
    event_id: int | None = None,
    resident: Resident | None = None,
    now: datetime | None = None,
) -> CancelResult:
    """Cancel by registration id (with ``resident``: only theirs) or by ``event_id`` and
    ``resident``. A freed place is offered to the first on the waitlist."""
    now = now or utcnow()
    found = await _locked_registration(session, registration_id, event_id, resident)
    if found is None:
        return CancelResult(CancelOutcome.REFUSED, Refusal.NOT_FOUND)
    event, registration = found
    previous = registration.status
    if previous not in ACTIVE_STATUSES:
        return CancelResult(CancelOutcome.ALREADY, None, registration, event, previous)
    if event.status is EventStatus.CANCELLED:
        return CancelResult(
            CancelOutcome.REFUSED, Refusal.EVENT_CANCELLED, registration, event, previous
        )
    if event.starts_at <= now:
        return CancelResult(
            CancelOutcome.REFUSED, Refusal.EVENT_STARTED, registration, event, previous
        )
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.offer_expires_at = None
    registration.updated_at = now
    await session.flush()
    offered = await fill_from_waitlist(session, event, now)
    return CancelResult(CancelOutcome.CANCELLED, None, registration, event, previous, offered)


class OfferOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # now registered
    DECLINED = "declined"
    ALREADY = "already"  # accepted (or declined) before: a double tap
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class OfferResult:
    """``offered``: the next on the waitlist given the place (after a decline, or an
    acceptance that came too late), to be told."""

    outcome: OfferOutcome
    refusal: Refusal | None = None
    registration: Registration | None = None
    event: Event | None = None
    offered: list[Registration] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome is not OfferOutcome.REFUSED


async def _expire(
    session: AsyncSession, event: Event, registration: Registration, now: datetime
) -> list[Registration]:
    registration.status = RegistrationStatus.EXPIRED
    registration.updated_at = now
    await session.flush()
    return await fill_from_waitlist(session, event, now)


async def accept_offer(
    session: AsyncSession,
    registration_id: int,
    resident: Resident,
    *,
    now: datetime | None = None,
) -> OfferResult:
    """Take the offered place. Too late (the offer expired, or the event started):
    refused with OFFER_EXPIRED, and the place goes on to the next on the waitlist."""
    now = now or utcnow()
    found = await _locked_registration(session, registration_id, None, resident)
    if found is None:
        return OfferResult(OfferOutcome.REFUSED, Refusal.NOT_FOUND)
    event, registration = found
    status = registration.status
    if status is RegistrationStatus.REGISTERED:
        return OfferResult(OfferOutcome.ALREADY, None, registration, event)
    if event.status is EventStatus.CANCELLED:
        return OfferResult(OfferOutcome.REFUSED, Refusal.EVENT_CANCELLED, registration, event)
    if status is RegistrationStatus.EXPIRED:
        return OfferResult(OfferOutcome.REFUSED, Refusal.OFFER_EXPIRED, registration, event)
    if status is not RegistrationStatus.OFFERED:
        return OfferResult(OfferOutcome.REFUSED, Refusal.NO_OFFER, registration, event)
    expires = registration.offer_expires_at
    if (expires is not None and expires <= now) or event.starts_at <= now:
        offered = await _expire(session, event, registration, now)
        return OfferResult(
            OfferOutcome.REFUSED, Refusal.OFFER_EXPIRED, registration, event, offered
        )
    registration.status = RegistrationStatus.REGISTERED
    registration.offer_expires_at = None
    registration.updated_at = now
    await session.flush()
    return OfferResult(OfferOutcome.ACCEPTED, None, registration, event)


async def decline_offer(
    session: AsyncSession,
    registration_id: int,
    resident: Resident,
    *,
    now: datetime | None = None,
) -> OfferResult:
    """Turn the offered place down; it goes to the next on the waitlist."""
    now = now or utcnow()
    found = await _locked_registration(session, registration_id, None, resident)
    if found is None:
        return OfferResult(OfferOutcome.REFUSED, Refusal.NOT_FOUND)
    event, registration = found
    if registration.status is RegistrationStatus.DECLINED:
        return OfferResult(OfferOutcome.ALREADY, None, registration, event)
    if registration.status is RegistrationStatus.EXPIRED:
        return OfferResult(OfferOutcome.REFUSED, Refusal.OFFER_EXPIRED, registration, event)
    if registration.status is not RegistrationStatus.OFFERED:
        return OfferResult(OfferOutcome.REFUSED, Refusal.NO_OFFER, registration, event)
    registration.status = RegistrationStatus.DECLINED
    registration.offer_expires_at = None
    registration.updated_at = now
    await session.flush()
    offered = await fill_from_waitlist(session, event, now)
    return OfferResult(OfferOutcome.DECLINED, None, registration, event, offered)


class OfferChangeKind(enum.StrEnum):
    EXPIRED = "expired"  # tell them the offer passed on
    OFFERED = "offered"  # tell them a place is held for them until offer_expires_at


@dataclass(frozen=True, slots=True)
class OfferChange:
    registration: Registration
    event: Event
    change: OfferChangeKind


async def expire_offers(session: AsyncSession, now: datetime | None = None) -> list[OfferChange]:
    """Expire the offers not answered in time and offer those places to the next on the
    waitlist; also offers places freed without an offer (an erasure). For a scheduler job;
    safe to run twice or in two processes (each event is handled under its row lock)."""
    now = now or utcnow()
    overdue = select(Registration.event_id).where(
        Registration.status == RegistrationStatus.OFFERED,
        Registration.offer_expires_at <= now,
    )
    waiting = select(Registration.event_id).where(
        Registration.status == RegistrationStatus.WAITLISTED
    )
    candidates = await session.scalars(
        select(Event.id)
        .where(
            Event.status == EventStatus.PUBLISHED,
            or_(Event.id.in_(overdue), and_(Event.id.in_(waiting), Event.starts_at > now)),
        )
        .order_by(Event.id)
    )
    changes: list[OfferChange] = []
    for event_id in list(candidates):
        event = await lock_event(session, event_id)
        if event is None or event.status is not EventStatus.PUBLISHED:
            continue
        expired = list(
            await session.scalars(
                update(Registration)
                .where(
                    Registration.event_id == event.id,
                    Registration.status == RegistrationStatus.OFFERED,
                    Registration.offer_expires_at <= now,
                )
                .values(status=RegistrationStatus.EXPIRED, updated_at=now)
                .returning(Registration)
                .execution_options(synchronize_session="fetch", populate_existing=True)
            )
        )
        changes.extend(OfferChange(r, event, OfferChangeKind.EXPIRED) for r in expired)
        offered = await fill_from_waitlist(session, event, now)
        changes.extend(OfferChange(r, event, OfferChangeKind.OFFERED) for r in offered)
    return changes


# --- a resident's registrations -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MyRegistration:
    registration: Registration
    event: Event
    position: int | None  # on the waitlist, from 1

    @property
    def status(self) -> RegistrationStatus:
        return self.registration.status


async def my_registrations(
    session: AsyncSession, resident: Resident, *, now: datetime | None = None
) -> list[MyRegistration]:
    """The resident's registrations, waitlist places and offers for events that have not
    ended (cancelled events too, so the resident sees it), soonest first."""
    now = now or utcnow()
    rows = await session.execute(
        select(Registration, Event)
        .join(Event, Event.id == Registration.event_id)
        .where(
            Registration.resident_id == resident.id,
            Registration.status.in_(ACTIVE_STATUSES),
            Event.ends_at > now,
        )
        .order_by(Event.starts_at, Event.id)
    )
    result = []
    for registration, event in rows:
        result.append(
            MyRegistration(registration, event, await waitlist_position(session, registration))
        )
    return result


async def get_registration(
    session: AsyncSession, registration_id: int, resident: Resident | None = None
) -> Registration | None:
    """The registration (with ``resident``: only theirs, so forged ids find nothing)."""
    registration = await session.get(Registration, registration_id)
    if registration is None or (resident is not None and registration.resident_id != resident.id):
        return None
    return registration


# --- erasure --------------------------------------------------------------------------


async def forget_resident(
    session: AsyncSession, resident_id: int, *, now: datetime | None = None
) -> None:
    """Before erasure: cancel the resident's registrations to events that have not
    started (the places go to the waitlist at the next :func:`expire_offers`), and clear
    what may identify them (name, answers, organization) everywhere.

    Registrations to events that started stay, and the database sets ``resident_id`` to
    NULL when the resident row is deleted: attendance figures stay right, anonymously."""
    now = now or utcnow()
    not_started = select(Event.id).where(Event.starts_at > now)
    await session.execute(
        update(Registration)
        .where(
            Registration.resident_id == resident_id,
            Registration.status.in_(ACTIVE_STATUSES),
            Registration.event_id.in_(not_started),
        )
        .values(
            status=RegistrationStatus.CANCELLED,
            cancelled_at=now,
            offer_expires_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Registration)
        .where(Registration.resident_id == resident_id)
        .values(
            display_name=None,
            share_name=False,
            answers=None,
            organization=None,
            organization_key=None,
        )
        .execution_options(synchronize_session=False)
    )
