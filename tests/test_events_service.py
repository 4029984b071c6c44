"""Events, service layer: creating, registering, capacity under concurrency, the waitlist and
its timed offers, reminders once, capacity thresholds, attendance, reports, exports, erasure.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import create_engine, create_session_factory
from bot.services import (
    audiences,
    event_attendance,
    event_registrations,
    event_reminders,
    events,
    residents,
)
from bot.services.audiences import Audience
from bot.services.event_attendance import AttendanceOutcome, AttendanceRefusal, Target
from bot.services.event_registrations import (
    CHECKIN_ALPHABET,
    CancelOutcome,
    OfferChangeKind,
    OfferOutcome,
    Refusal,
    RegistrationOutcome,
)
from bot.services.events import EventError, EventField, EventProblem, EventSpec
from bot.services.quiet_hours import QuietHours
from models import (
    AgeGroup,
    Event,
    EventKind,
    EventReminder,
    EventStatus,
    MessageCategory,
    Municipality,
    Registration,
    RegistrationStatus,
    Resident,
    utcnow,
)
from tests.support.residents import add_residents

T = TypeVar("T")

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # Monday 10:00 in Vilnius
START = T0 + timedelta(days=3)
ORGANIZER = 42
VILNIUS = ZoneInfo("Europe/Vilnius")
QUIET = QuietHours(time(21, 0), time(8, 0), VILNIUS)
_chat_ids = itertools.count(200_000, 1_000)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, pool_size=25, max_overflow=5)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def municipality_id(sessions: async_sessionmaker[AsyncSession], code: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Municipality.id).where(Municipality.code == code))
    assert found is not None
    return found


@pytest.fixture
async def pag(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await municipality_id(sessions, "PAG")


async def people(
    sessions: async_sessionmaker[AsyncSession], count: int, **kwargs: Any
) -> list[Resident]:
    chat_ids = await add_residents(sessions, None, count, first_chat_id=next(_chat_ids), **kwargs)
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Resident)
                .where(Resident.external_id.in_([str(c) for c in chat_ids]))
                .order_by(Resident.id)
            )
        )


def spec(municipality: int, **overrides: Any) -> EventSpec:
    values: dict[str, Any] = {
        "kind": EventKind.TRAINING,
        "title": "Mokymai bendruomenių lyderiams",
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        "municipality_ids": frozenset({municipality}),
        "description": "Kaip dalyvauti savivaldoje.",
        "place_address": "Vilniaus g. 9, Pagėgiai",
        "capacity": 30,
    }
    values.update(overrides)
    return EventSpec(**values)


async def tx(
    sessions: async_sessionmaker[AsyncSession],
    action: Callable[..., Awaitable[T]],
    *args: Any,
    **kwargs: Any,
) -> T:
    """Run one service call in its own transaction (as one update would)."""
    async with sessions() as session, session.begin():
        return await action(session, *args, **kwargs)


async def make_event(
    sessions: async_sessionmaker[AsyncSession], municipality: int, **overrides: Any
) -> Event:
    return await tx(
        sessions,
        events.create_event,
        spec(municipality, **overrides),
        created_by=ORGANIZER,
        now=T0,
    )


async def register(
    sessions: async_sessionmaker[AsyncSession],
    event: Event | int,
    resident: Resident,
    *,
    now: datetime = T0,
    **kwargs: Any,
) -> event_registrations.RegistrationResult:
    event_id = event if isinstance(event, int) else event.id
    return await tx(sessions, event_registrations.register, event_id, resident, now=now, **kwargs)


async def statuses(
    sessions: async_sessionmaker[AsyncSession], event_id: int
) -> dict[int | None, RegistrationStatus]:
    async with sessions() as session:
        rows = await session.execute(
            select(Registration.resident_id, Registration.status).where(
                Registration.event_id == event_id
            )
        )
        return dict(rows.all())


async def registration(
    sessions: async_sessionmaker[AsyncSession], event_id: int, resident: Resident
) -> Registration:
    async with sessions() as session:
        found = await session.scalar(
            select(Registration).where(
                Registration.event_id == event_id, Registration.resident_id == resident.id
            )
        )
    assert found is not None
    return found


# --- creating -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"title": "  "}, EventProblem.TITLE_EMPTY),
        ({"title": "t" * 201}, EventProblem.TITLE_TOO_LONG),
        ({"municipality_ids": frozenset()}, EventProblem.NO_MUNICIPALITY),
        ({"place_address": None}, EventProblem.NO_PLACE),
        ({"online_url": "zoom.us/j/1"}, EventProblem.BAD_URL),
        ({"latitude": 55.1}, EventProblem.BAD_POINT),
        ({"latitude": 95.0, "longitude": 21.9}, EventProblem.BAD_POINT),
        ({"ends_at": START}, EventProblem.END_BEFORE_START),
        ({"starts_at": T0 - timedelta(hours=1)}, EventProblem.START_IN_PAST),
        ({"starts_at": START.replace(tzinfo=None)}, EventProblem.TIME_WITHOUT_ZONE),
        ({"registration_deadline": START + timedelta(hours=1)}, EventProblem.DEADLINE_AFTER_START),
        ({"capacity": 0}, EventProblem.BAD_CAPACITY),
        ({"per_organization_quota": 0}, EventProblem.BAD_QUOTA),
        ({"questions": ("Kokiai bendruomenei atstovaujate?", " ")}, EventProblem.QUESTION_EMPTY),
        ({"questions": ("k" * 301,)}, EventProblem.QUESTION_TOO_LONG),
        (
            {"questions": tuple(f"Klausimas {i}?" for i in range(11))},
            EventProblem.TOO_MANY_QUESTIONS,
        ),
        ({"reminder_offsets": (0,)}, EventProblem.BAD_REMINDERS),
        ({"offer_hours": 0}, EventProblem.BAD_OFFER_HOURS),
    ],
)
def test_validation(overrides: dict[str, Any], problem: EventProblem) -> None:
    with pytest.raises(EventError) as caught:
        events.validate(spec(1, **overrides), now=T0)
    assert caught.value.problem is problem


def test_validation_cleans_the_spec() -> None:
    cleaned = events.validate(
        spec(
            1,
            title="  Vieša diskusija  ",
            place_address=" ",
            online_url=" https://meet.example.lt/abc ",
            reminder_offsets=(120, 1440, 120),
        ),
        now=T0,
    )
    assert cleaned.title == "Vieša diskusija"
    assert cleaned.place_address is None
    assert cleaned.online_url == "https://meet.example.lt/abc"
    assert cleaned.reminder_offsets == (1440, 120)


async def test_create_stores_everything_and_an_invalid_event_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    klp = await municipality_id(sessions, "KLP")
    event = await make_event(
        sessions,
        pag,
        municipality_ids=frozenset({pag, klp}),
        questions=("Kokiai bendruomenei atstovaujate?",),
        latitude=55.05,
        longitude=21.9,
        audience=Audience(age_groups=frozenset({AgeGroup.AGE_65_PLUS})),
    )
    async with sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None
        assert stored.status is EventStatus.PUBLISHED
        assert stored.kind is EventKind.TRAINING
        assert stored.municipality_ids == {pag, klp}
        assert [q.text for q in stored.questions] == ["Kokiai bendruomenei atstovaujate?"]
        assert stored.reminder_offsets == [1440, 120]
        assert stored.offer_hours == 12
        assert stored.effective_deadline == START
        assert stored.audience == {"municipality_ids": [], "age_groups": ["65_plus"]}
        assert (stored.latitude, stored.longitude) == (55.05, 21.9)
    with pytest.raises(EventError) as caught:
        await make_event(sessions, pag, municipality_ids=frozenset({pag, 999_999}))
    assert caught.value.problem is EventProblem.UNKNOWN_MUNICIPALITY
    async with sessions() as session:
        assert len(list(await session.scalars(select(Event)))) == 1


# --- what residents see ---------------------------------------------------------------


async def test_upcoming_events_of_the_residents_municipality_and_audience(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    klp = await municipality_id(sessions, "KLP")
    later = await make_event(
        sessions,
        pag,
        title="Vėliau",
        starts_at=START + timedelta(days=1),
        ends_at=START + timedelta(days=1, hours=2),
        capacity=3,
    )
    await make_event(sessions, pag, title="Anksčiau", capacity=None)
    both = await make_event(
        sessions,
        klp,
        title="Abiem",
        municipality_ids=frozenset({pag, klp}),
        starts_at=START + timedelta(days=2),
        ends_at=START + timedelta(days=2, hours=1),
    )
    await make_event(sessions, klp, title="Klaipėdoje")
    await make_event(
        sessions,
        pag,
        title="Senjorams",
        audience=Audience(age_groups=frozenset({AgeGroup.AGE_65_PLUS})),
    )
    cancelled = await make_event(sessions, pag, title="Atšaukta")
    await tx(sessions, events.cancel_event, cancelled.id, by=ORGANIZER, now=T0)
    resident, other = await people(sessions, 2)
    await register(sessions, later, other)

    async with sessions() as session:
        seen = await events.list_upcoming_for(session, resident, now=T0)
    assert [item.event.title for item in seen] == ["Anksčiau", "Vėliau", "Abiem"]
    assert [item.places_left for item in seen] == [None, 2, 30]
    assert all(item.registration_open and item.my_status is None for item in seen)

    await register(sessions, both, resident)
    after_start = START + timedelta(hours=1)  # "Anksčiau" is under way, "Vėliau" not yet
    async with sessions() as session:
        seen = await events.list_upcoming_for(session, resident, now=after_start)
        assert [(i.event.title, i.registration_open) for i in seen] == [
            ("Anksčiau", False),
            ("Vėliau", True),
            ("Abiem", True),
        ]
        assert seen[2].my_status is RegistrationStatus.REGISTERED
        assert await events.places_left(session, later.id) == 2
        assert events.state(seen[0].event, after_start) is events.EventState.ONGOING
        finished = await events.list_upcoming_for(session, resident, now=START + timedelta(days=5))
        assert finished == []


# --- registering ----------------------------------------------------------------------


async def test_register_stores_the_registration_and_twice_is_one(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag, questions=("Kokiai bendruomenei atstovaujate?",))
    question_id = event.questions[0].id
    (resident,) = await people(sessions, 1)
    first = await register(
        sessions,
        event,
        resident,
        answers={question_id: "  Pagėgių bendruomenė "},
        source="plakatas_biblioteka",
        display_name="Ona Onaitė",  # not shared: not kept
    )
    assert first.outcome is RegistrationOutcome.REGISTERED
    assert first.thresholds == ()
    again = await register(sessions, event, resident, share_name=True, display_name="Ona")
    assert again.outcome is RegistrationOutcome.ALREADY
    assert again.registration is not None and first.registration is not None
    assert again.registration.id == first.registration.id

    stored = await registration(sessions, event.id, resident)
    assert stored.status is RegistrationStatus.REGISTERED
    assert stored.answers == {str(question_id): "Pagėgių bendruomenė"}
    assert stored.source == "plakatas_biblioteka"
    assert stored.share_name is False and stored.display_name is None
    assert stored.municipality_id == pag
    assert len(stored.checkin_code) == 6 and set(stored.checkin_code) <= set(CHECKIN_ALPHABET)
    assert await statuses(sessions, event.id) == {resident.id: RegistrationStatus.REGISTERED}


async def test_one_registration_per_resident_per_event_is_enforced_by_the_database(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag)
    (resident,) = await people(sessions, 1)
    await register(sessions, event, resident)
    row = {
        "event_id": event.id,
        "resident_id": resident.id,
        "status": RegistrationStatus.REGISTERED,
        "share_name": False,
        "checkin_code": "AAAAAA",
        "created_at": T0,
        "updated_at": T0,
    }
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(insert(Registration), [row])


async def test_cancelled_registration_is_taken_up_again_with_its_code(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag)
    (resident,) = await people(sessions, 1)
    first = await register(sessions, event, resident)
    assert first.registration is not None
    cancelled = await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=resident,
        now=T0,
    )
    assert cancelled.outcome is CancelOutcome.CANCELLED
    assert cancelled.previous is RegistrationStatus.REGISTERED
    twice = await tx(
        sessions,
        event_registrations.cancel_registration,
        first.registration.id,
        resident=resident,
        now=T0,
    )
    assert twice.outcome is CancelOutcome.ALREADY
    back = await register(sessions, event, resident, now=T0 + timedelta(hours=1))
    assert back.outcome is RegistrationOutcome.REGISTERED
    assert back.registration is not None
    assert back.registration.id == first.registration.id
    assert back.registration.checkin_code == first.registration.checkin_code
    stored = await registration(sessions, event.id, resident)
    assert stored.status is RegistrationStatus.REGISTERED and stored.cancelled_at is None


async def test_capacity_is_never_exceeded_by_concurrent_registrations(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag, capacity=5)
    early = await people(sessions, 2)
    for resident in early:
        assert (await register(sessions, event, resident)).outcome is RegistrationOutcome.REGISTERED
    crowd = await people(sessions, 20)

    results = await asyncio.gather(*(register(sessions, event, r) for r in crowd))

    outcomes = [r.outcome for r in results]
    assert outcomes.count(RegistrationOutcome.REGISTERED) == 3
    assert outcomes.count(RegistrationOutcome.WAITLISTED) == 17
    assert sorted(r.position for r in results if r.position is not None) == list(range(1, 18))
    stored = await statuses(sessions, event.id)
    assert list(stored.values()).count(RegistrationStatus.REGISTERED) == 5
    assert list(stored.values()).count(RegistrationStatus.WAITLISTED) == 17
    async with sessions() as session:
        assert await events.places_left(session, event.id) == 0
        stored_event = await events.get_event(session, event.id)
        assert stored_event is not None and stored_event.capacity_notified == 100
    # The organizer is told once about each threshold, whichever registration crossed it.
    crossed = [t for r in results for t in r.thresholds]
    assert sorted(crossed) == [50, 80, 100]  # 2 of 5 was 40 %


async def test_a_double_tap_registers_once(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag)
    (resident,) = await people(sessions, 1)
    results = await asyncio.gather(*(register(sessions, event, resident) for _ in range(5)))
    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count(RegistrationOutcome.REGISTERED) == 1
    assert outcomes.count(RegistrationOutcome.ALREADY) == 4
    assert await statuses(sessions, event.id) == {resident.id: RegistrationStatus.REGISTERED}


async def test_quota_per_organization(sessions: async_sessionmaker[AsyncSession], pag: int) -> None:
    event = await make_event(
        sessions, pag, kind=EventKind.STUDY_VISIT, capacity=3, per_organization_quota=2
    )
    a, b, c, d, e = await people(sessions, 5)
    assert (await register(sessions, event, a, organization="Bendruomenė „Saulėtekis“")).ok
    assert (await register(sessions, event, b, organization="bendruomenė  saulėtekis")).ok
    full = await register(sessions, event, c, organization='BENDRUOMENĖ "SAULĖTEKIS"')
    assert full.outcome is RegistrationOutcome.REFUSED
    assert full.refusal is Refusal.QUOTA_FULL
    missing = await register(sessions, event, c, organization="  ")
    assert missing.refusal is Refusal.ORGANIZATION_REQUIRED
    other = await register(sessions, event, c, organization="Pagėgių jaunimo centras")
    assert other.outcome is RegistrationOutcome.REGISTERED
    # Full now: the waitlist counts against the quota as well.
    waiting = await register(sessions, event, d, organization="Pagėgių jaunimo centras")
    assert waiting.outcome is RegistrationOutcome.WAITLISTED
    over = await register(sessions, event, e, organization="pagėgių jaunimo centras")
    assert over.refusal is Refusal.QUOTA_FULL
    assert await statuses(sessions, event.id) == {
        a.id: RegistrationStatus.REGISTERED,
        b.id: RegistrationStatus.REGISTERED,
        c.id: RegistrationStatus.REGISTERED,
        d.id: RegistrationStatus.WAITLISTED,
    }
    stored = await registration(sessions, event.id, a)
    assert stored.organization == "Bendruomenė „Saulėtekis“"


async def test_refusals_write_nothing(sessions: async_sessionmaker[AsyncSession], pag: int) -> None:
    klp = await municipality_id(sessions, "KLP")
    deadline = T0 + timedelta(days=1)
    event = await make_event(
        sessions,
        pag,
        registration_deadline=deadline,
        questions=("Kokiai bendruomenei atstovaujate?",),
    )
    seniors = await make_event(
        sessions, pag, audience=Audience(age_groups=frozenset({AgeGroup.AGE_65_PLUS}))
    )
    elsewhere = await make_event(sessions, klp)
    cancelled = await make_event(sessions, pag)
    await tx(sessions, events.cancel_event, cancelled.id, by=ORGANIZER, now=T0)
    (resident,) = await people(sessions, 1)
    (newcomer,) = await people(sessions, 1, onboarded_at=None)

    cases = [
        (await register(sessions, 999_999, resident), Refusal.NOT_FOUND),
        (await register(sessions, cancelled, resident), Refusal.EVENT_CANCELLED),
        (await register(sessions, event, resident, now=deadline), Refusal.DEADLINE_PASSED),
        (await register(sessions, elsewhere, resident), Refusal.OUTSIDE_MUNICIPALITY),
        (await register(sessions, seniors, resident), Refusal.OUTSIDE_AUDIENCE),
        (await register(sessions, event, newcomer), Refusal.NOT_ONBOARDED),
        (await register(sessions, event, resident, answers={999_999: "?"}), Refusal.BAD_ANSWERS),
        (
            await register(sessions, event, resident, answers={event.questions[0].id: "x" * 501}),
            Refusal.BAD_ANSWERS,
        ),
    ]
    for result, refusal in cases:
        assert result.outcome is RegistrationOutcome.REFUSED
        assert result.refusal is refusal
    async with sessions() as session:
        assert list(await session.scalars(select(Registration))) == []
        assert events.in_audience(event, resident)
        assert event_registrations.can_register(event, resident, deadline) is (
            Refusal.DEADLINE_PASSED
        )


# --- the waitlist and offers ----------------------------------------------------------


async def full_event_with_waitlist(
    sessions: async_sessionmaker[AsyncSession], pag: int, **overrides: Any
) -> tuple[Event, list[Resident]]:
    """Capacity 2: residents 0 and 1 registered, 2 and 3 on the waitlist."""
    event = await make_event(sessions, pag, capacity=2, **overrides)
    crowd = await people(sessions, 4)
    results = [
        await register(sessions, event, r, now=T0 + timedelta(minutes=i))
        for i, r in enumerate(crowd)
    ]
    assert [r.outcome for r in results] == [
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.WAITLISTED,
        RegistrationOutcome.WAITLISTED,
    ]
    assert [r.position for r in results] == [None, None, 1, 2]
    return event, crowd


async def test_cancelling_offers_the_place_to_the_first_on_the_waitlist(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    moment = T0 + timedelta(hours=1)
    result = await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=moment,
    )
    assert result.outcome is CancelOutcome.CANCELLED
    assert [r.resident_id for r in result.offered] == [crowd[2].id]
    offer = await registration(sessions, event.id, crowd[2])
    assert offer.status is RegistrationStatus.OFFERED
    assert offer.offer_expires_at == moment + timedelta(hours=12)
    # The offer holds the place: a newcomer waits, behind the one still waiting.
    (newcomer,) = await people(sessions, 1)
    late = await register(sessions, event, newcomer, now=moment)
    assert late.outcome is RegistrationOutcome.WAITLISTED
    assert late.position == 2
    async with sessions() as session:
        assert await events.places_left(session, event.id) == 0
        mine = await event_registrations.my_registrations(session, crowd[3], now=moment)
        assert [(m.status, m.position) for m in mine] == [(RegistrationStatus.WAITLISTED, 1)]
        offered = await event_registrations.my_registrations(session, crowd[2], now=moment)
        assert [(m.status, m.position) for m in offered] == [(RegistrationStatus.OFFERED, None)]
    # Cancelling a waitlist place frees nothing.
    left = await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[3],
        now=moment,
    )
    assert left.previous is RegistrationStatus.WAITLISTED and left.offered == []


async def test_accepting_an_offer_in_time_registers(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[1],
        now=T0 + timedelta(hours=1),
    )
    offer = await registration(sessions, event.id, crowd[2])
    forged = await tx(
        sessions, event_registrations.accept_offer, offer.id, crowd[3], now=T0 + timedelta(hours=2)
    )
    assert forged.refusal is Refusal.NOT_FOUND
    not_an_offer = await tx(
        sessions,
        event_registrations.accept_offer,
        (await registration(sessions, event.id, crowd[3])).id,
        crowd[3],
        now=T0 + timedelta(hours=2),
    )
    assert not_an_offer.refusal is Refusal.NO_OFFER
    accepted = await tx(
        sessions, event_registrations.accept_offer, offer.id, crowd[2], now=T0 + timedelta(hours=12)
    )
    assert accepted.outcome is OfferOutcome.ACCEPTED
    again = await tx(
        sessions, event_registrations.accept_offer, offer.id, crowd[2], now=T0 + timedelta(hours=12)
    )
    assert again.outcome is OfferOutcome.ALREADY
    assert await statuses(sessions, event.id) == {
        crowd[0].id: RegistrationStatus.REGISTERED,
        crowd[1].id: RegistrationStatus.CANCELLED,
        crowd[2].id: RegistrationStatus.REGISTERED,
        crowd[3].id: RegistrationStatus.WAITLISTED,
    }


async def test_an_expired_offer_passes_to_the_next(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    cancelled_at = T0 + timedelta(hours=1)
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=cancelled_at,
    )
    assert (
        await tx(sessions, event_registrations.expire_offers, cancelled_at + timedelta(hours=11))
        == []
    )
    late = cancelled_at + timedelta(hours=12)
    changes = await tx(sessions, event_registrations.expire_offers, late)
    assert [(c.registration.resident_id, c.change) for c in changes] == [
        (crowd[2].id, OfferChangeKind.EXPIRED),
        (crowd[3].id, OfferChangeKind.OFFERED),
    ]
    assert changes[1].registration.offer_expires_at == late + timedelta(hours=12)
    assert await tx(sessions, event_registrations.expire_offers, late) == []  # once
    too_late = await tx(
        sessions, event_registrations.accept_offer, changes[0].registration.id, crowd[2], now=late
    )
    assert too_late.refusal is Refusal.OFFER_EXPIRED
    assert await statuses(sessions, event.id) == {
        crowd[0].id: RegistrationStatus.CANCELLED,
        crowd[1].id: RegistrationStatus.REGISTERED,
        crowd[2].id: RegistrationStatus.EXPIRED,
        crowd[3].id: RegistrationStatus.OFFERED,
    }
    # Registering again puts them at the end of the waitlist.
    back = await register(sessions, event, crowd[2], now=late)
    assert back.outcome is RegistrationOutcome.WAITLISTED and back.position == 1


async def test_accepting_too_late_before_the_job_ran_passes_the_offer_on(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag, offer_hours=2)
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=T0 + timedelta(hours=1),
    )
    offer = await registration(sessions, event.id, crowd[2])
    assert offer.offer_expires_at == T0 + timedelta(hours=3)
    result = await tx(
        sessions, event_registrations.accept_offer, offer.id, crowd[2], now=T0 + timedelta(hours=3)
    )
    assert result.outcome is OfferOutcome.REFUSED
    assert result.refusal is Refusal.OFFER_EXPIRED
    assert [r.resident_id for r in result.offered] == [crowd[3].id]
    assert (await registration(sessions, event.id, crowd[2])).status is RegistrationStatus.EXPIRED


async def test_declining_passes_the_offer_on(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=T0 + timedelta(hours=1),
    )
    offer = await registration(sessions, event.id, crowd[2])
    declined = await tx(
        sessions, event_registrations.decline_offer, offer.id, crowd[2], now=T0 + timedelta(hours=2)
    )
    assert declined.outcome is OfferOutcome.DECLINED
    assert [r.resident_id for r in declined.offered] == [crowd[3].id]
    again = await tx(
        sessions, event_registrations.decline_offer, offer.id, crowd[2], now=T0 + timedelta(hours=2)
    )
    assert again.outcome is OfferOutcome.ALREADY
    assert (await registration(sessions, event.id, crowd[2])).status is RegistrationStatus.DECLINED


async def test_an_offer_never_outlasts_the_start(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    soon = T0 + timedelta(hours=5)
    event, crowd = await full_event_with_waitlist(
        sessions, pag, starts_at=soon, ends_at=soon + timedelta(hours=2)
    )
    cancelled = await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=T0 + timedelta(hours=1),
    )
    assert cancelled.offered[0].offer_expires_at == soon
    started = await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[1],
        now=soon,
    )
    assert started.refusal is Refusal.EVENT_STARTED


# --- changing and cancelling events ----------------------------------------------------


async def test_moving_an_event_tells_everyone_registered_or_waiting(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=T0 + timedelta(hours=1),
    )  # 2 is offered, 3 waits

    async def edit(**changes: Any) -> events.EventUpdate:
        async with sessions() as session, session.begin():
            current = await events.get_event(session, event.id)
            assert current is not None
            new = dataclasses.replace(events.spec_of(current), **changes)
            return await events.update_event(
                session, event.id, new, by=ORGANIZER, now=T0 + timedelta(hours=2)
            )

    retitled = await edit(title="Mokymai: dalyvaujamasis biudžetas")
    assert retitled.changed == {EventField.TITLE}
    assert retitled.notify == []
    moved = await edit(starts_at=START + timedelta(hours=1), ends_at=START + timedelta(hours=4))
    assert moved.changed == {EventField.TIME} and moved.time_changed and not moved.place_changed
    assert sorted(r.resident_id for r in moved.notify) == sorted(
        [crowd[1].id, crowd[2].id, crowd[3].id]
    )
    relocated = await edit(place_address="Kultūros centras, Pagėgiai")
    assert relocated.place_changed
    assert len(relocated.notify) == 3
    unchanged = await edit()
    assert unchanged.changed == frozenset()
    with pytest.raises(EventError) as caught:
        await edit(capacity=1)
    assert caught.value.problem is EventProblem.CAPACITY_BELOW_TAKEN
    assert caught.value.limit == 2
    with pytest.raises(EventError) as caught:
        await edit(questions=("Naujas klausimas?",))
    assert caught.value.problem is EventProblem.QUESTIONS_LOCKED
    with pytest.raises(EventError) as caught:
        async with sessions() as session, session.begin():
            await events.update_event(
                session, event.id, spec(pag), by=ORGANIZER + 1, now=T0 + timedelta(hours=2)
            )
    assert caught.value.problem is EventProblem.NOT_OWNER
    async with sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None
        assert stored.starts_at == START + timedelta(hours=1)
        assert stored.place_address == "Kultūros centras, Pagėgiai"
        assert stored.title == "Mokymai: dalyvaujamasis biudžetas"


async def test_more_places_go_to_the_waitlist_as_offers(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    async with sessions() as session, session.begin():
        current = await events.get_event(session, event.id)
        assert current is not None
        result = await events.update_event(
            session,
            event.id,
            dataclasses.replace(events.spec_of(current), capacity=10),
            by=ORGANIZER,
            now=T0 + timedelta(hours=1),
        )
    assert result.changed == {EventField.CAPACITY}
    assert [r.resident_id for r in result.offered] == [crowd[2].id, crowd[3].id]
    assert result.thresholds == ()
    async with sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None and stored.capacity_notified == 0  # 4 of 10: below 50 %


async def test_cancelling_an_event_tells_everyone_once(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    first = await tx(sessions, events.cancel_event, event.id, by=ORGANIZER, now=T0)
    assert first.cancelled
    assert sorted(r.resident_id for r in first.notify) == sorted(r.id for r in crowd)
    second = await tx(sessions, events.cancel_event, event.id, by=ORGANIZER, now=T0)
    assert not second.cancelled and second.notify == []
    (newcomer,) = await people(sessions, 1)
    assert (await register(sessions, event, newcomer)).refusal is Refusal.EVENT_CANCELLED
    with pytest.raises(EventError) as caught:
        async with sessions() as session, session.begin():
            await events.update_event(session, event.id, spec(pag), by=ORGANIZER, now=T0)
    assert caught.value.problem is EventProblem.CANCELLED
    async with sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None
        assert stored.status is EventStatus.CANCELLED and stored.cancelled_at == T0


# --- capacity thresholds --------------------------------------------------------------


async def test_capacity_thresholds_are_reported_once_each(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag, capacity=10)
    crowd = await people(sessions, 11)
    crossed = [(await register(sessions, event, r)).thresholds for r in crowd[:10]]
    assert crossed == [(), (), (), (), (50,), (), (), (80,), (), (100,)]
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=T0,
    )
    assert (await register(sessions, event, crowd[10])).thresholds == ()
    small = await make_event(sessions, pag, capacity=2)
    assert (await register(sessions, small, crowd[0])).thresholds == (50,)
    assert (await register(sessions, small, crowd[1])).thresholds == (80, 100)
    async with sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None and stored.capacity_notified == 100
    unlimited = await make_event(sessions, pag, capacity=None)
    assert (await register(sessions, unlimited, crowd[0])).thresholds == ()


# --- reminders ------------------------------------------------------------------------


async def test_reminders_are_created_once_also_after_a_restart(
    database_url: str, sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag)
    (resident,) = await people(sessions, 1)
    await register(sessions, event, resident)
    assert await tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=T0) == []
    day_before = START - timedelta(hours=24)
    jobs = await tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=day_before)
    assert [(j.event_id, j.offset_minutes, j.urgent, j.registered) for j in jobs] == [
        (event.id, 1440, False, 1)
    ]
    assert (
        await tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=day_before) == []
    )
    # A restart: a new engine, nothing in memory.
    engine = create_engine(database_url)
    try:
        restarted = create_session_factory(engine)
        later = day_before + timedelta(hours=1)
        assert (
            await tx(restarted, event_reminders.reminders_due, quiet_hours=QUIET, now=later) == []
        )
        two_hours = START - timedelta(hours=2)
        jobs = await tx(restarted, event_reminders.reminders_due, quiet_hours=QUIET, now=two_hours)
        assert [j.offset_minutes for j in jobs] == [120]
    finally:
        await engine.dispose()
    async with sessions() as session:
        markers = list(await session.scalars(select(EventReminder).order_by(EventReminder.id)))
    assert [(m.event_id, m.offset_minutes, m.sent) for m in markers] == [
        (event.id, 1440, True),
        (event.id, 120, True),
    ]


async def test_concurrent_reminder_runs_create_each_reminder_once(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    first = await make_event(sessions, pag)
    second = await make_event(
        sessions, pag, starts_at=START + timedelta(minutes=30), ends_at=START + timedelta(hours=2)
    )
    (resident,) = await people(sessions, 1)
    await register(sessions, first, resident)
    await register(sessions, second, resident)
    moment = START + timedelta(minutes=30) - timedelta(hours=24)
    runs = await asyncio.gather(
        *(
            tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=moment)
            for _ in range(4)
        )
    )
    jobs = [(j.event_id, j.offset_minutes) for run in runs for j in run]
    assert sorted(jobs) == sorted([(first.id, 1440), (second.id, 1440)])


async def test_late_reminders_are_skipped(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    created = START - timedelta(hours=10)  # after the 24 h reminder's time
    event = await tx(sessions, events.create_event, spec(pag), created_by=ORGANIZER, now=created)
    (resident,) = await people(sessions, 1)
    await register(sessions, event, resident, now=created)
    assert await tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=created) == []
    jobs = await tx(
        sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=START - timedelta(hours=2)
    )
    assert [j.offset_minutes for j in jobs] == [120]
    # The bot was down when both were due: only the nearest is sent.
    other = await make_event(
        sessions, pag, starts_at=START + timedelta(hours=1), ends_at=START + timedelta(hours=2)
    )
    await register(sessions, other, resident)
    jobs = await tx(
        sessions,
        event_reminders.reminders_due,
        quiet_hours=QUIET,
        now=START - timedelta(minutes=30),
    )
    assert [(j.event_id, j.offset_minutes) for j in jobs] == [(other.id, 120)]
    async with sessions() as session:
        markers = {
            (m.event_id, m.offset_minutes): m.sent
            for m in await session.scalars(select(EventReminder))
        }
    assert markers == {
        (event.id, 1440): False,
        (event.id, 120): True,
        (other.id, 1440): False,
        (other.id, 120): True,
    }


async def test_an_event_with_nobody_registered_gets_no_reminder(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    await make_event(sessions, pag)
    jobs = await tx(
        sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=START - timedelta(hours=2)
    )
    assert jobs == []


@pytest.mark.parametrize(
    ("local_start", "urgent"),
    [
        (datetime(2026, 11, 5, 7, 0, tzinfo=VILNIUS), True),  # reminder 05:00, before 08:00
        (datetime(2026, 11, 5, 9, 0, tzinfo=VILNIUS), False),  # reminder 07:00 waits for 08:00
        (datetime(2026, 11, 5, 12, 0, tzinfo=VILNIUS), False),  # reminder 10:00: no quiet hours
    ],
)
async def test_reminders_bypass_quiet_hours_only_when_the_event_is_sooner(
    sessions: async_sessionmaker[AsyncSession], pag: int, local_start: datetime, urgent: bool
) -> None:
    starts = local_start.astimezone(UTC)
    event = await make_event(
        sessions,
        pag,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        reminder_offsets=(120,),
    )
    (resident,) = await people(sessions, 1)
    await register(sessions, event, resident)
    jobs = await tx(
        sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=starts - timedelta(hours=2)
    )
    assert [(j.offset_minutes, j.urgent) for j in jobs] == [(120, urgent)]


async def test_a_moved_event_is_reminded_again_for_its_new_time(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag)
    (resident,) = await people(sessions, 1)
    await register(sessions, event, resident)
    day_before = START - timedelta(hours=24)
    assert (
        len(await tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=day_before))
        == 1
    )

    async def move(starts: datetime, now: datetime) -> None:
        async with sessions() as session, session.begin():
            current = await events.get_event(session, event.id)
            assert current is not None
            new = dataclasses.replace(
                events.spec_of(current), starts_at=starts, ends_at=starts + timedelta(hours=2)
            )
            await events.update_event(session, event.id, new, by=ORGANIZER, now=now)

    later = START + timedelta(days=2)
    await move(later, day_before + timedelta(hours=1))
    jobs = await tx(
        sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=later - timedelta(hours=24)
    )
    assert [j.offset_minutes for j in jobs] == [1440]
    # Moved nearer, after the 24 h reminder's new time: skipped, the change notice told them.
    edited = later - timedelta(hours=20)
    await move(later - timedelta(hours=12), edited)
    assert await tx(sessions, event_reminders.reminders_due, quiet_hours=QUIET, now=edited) == []


# --- attendance -----------------------------------------------------------------------


async def test_attendance_by_check_in_code(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    other = await make_event(sessions, pag)
    await register(sessions, other, crowd[0])
    mine = await registration(sessions, event.id, crowd[0])
    theirs = await registration(sessions, other.id, crowd[0])
    waiting = await registration(sessions, event.id, crowd[2])
    code = mine.checkin_code
    typed = f" {code[:3].lower()}-{code[3:].lower()} "

    async def mark(value: str) -> event_attendance.AttendanceResult:
        return await tx(
            sessions, event_attendance.mark_attended, event.id, value, by=ORGANIZER, now=START
        )

    marked = await mark(typed)
    assert marked.outcome is AttendanceOutcome.MARKED
    assert (await mark(code)).outcome is AttendanceOutcome.ALREADY
    assert (await mark("ZZZZZZ")).refusal is AttendanceRefusal.UNKNOWN_CODE
    wrong = await mark(theirs.checkin_code)
    assert wrong.refusal is AttendanceRefusal.OTHER_EVENT
    assert wrong.registration is not None and wrong.registration.event_id == other.id
    assert (await mark(waiting.checkin_code)).refusal is AttendanceRefusal.NOT_REGISTERED
    by_id = await tx(
        sessions,
        event_attendance.mark_attended_by_id,
        event.id,
        (await registration(sessions, event.id, crowd[1])).id,
        by=ORGANIZER,
        now=START,
    )
    assert by_id.outcome is AttendanceOutcome.MARKED
    forged = await tx(
        sessions, event_attendance.mark_attended_by_id, event.id, theirs.id, by=ORGANIZER
    )
    assert forged.refusal is AttendanceRefusal.OTHER_EVENT
    undone = await tx(
        sessions, event_attendance.unmark_attended, event.id, mine.id, by=ORGANIZER, now=START
    )
    assert undone.outcome is AttendanceOutcome.UNMARKED
    async with sessions() as session:
        listed = await event_attendance.attendance_list(session, event.id)
    assert {(e.registration_id, e.attended) for e in listed} == {
        (mine.id, False),
        ((await registration(sessions, event.id, crowd[1])).id, True),
    }
    stored = await registration(sessions, event.id, crowd[1])
    assert stored.attended_at == START and stored.marked_by == ORGANIZER


async def test_attendance_list_names_only_those_who_shared(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(sessions, pag)
    a, b, c = await people(sessions, 3)
    await register(sessions, event, a, share_name=True, display_name="Žydrūnas Žukas")
    await register(sessions, event, b, share_name=True, display_name="Česlovas Abromavičius")
    await register(sessions, event, c, share_name=False, display_name="Slaptas Vardas")
    async with sessions() as session:
        listed = await event_attendance.attendance_list(session, event.id)
    assert [e.display_name for e in listed] == ["Česlovas Abromavičius", "Žydrūnas Žukas", None]


# --- reports and exports --------------------------------------------------------------


async def test_report_counts_registered_and_attended_by_kind_and_municipality(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    klp = await municipality_id(sessions, "KLP")
    training = await make_event(sessions, pag)
    second_training = await make_event(
        sessions,
        pag,
        starts_at=START + timedelta(days=7),
        ends_at=START + timedelta(days=7, hours=3),
    )
    discussion = await make_event(
        sessions, pag, kind=EventKind.DISCUSSION, municipality_ids=frozenset({pag, klp})
    )
    focus = await make_event(sessions, klp, kind=EventKind.FOCUS_GROUP)
    cancelled = await make_event(sessions, pag)
    in_pag = await people(sessions, 3)
    in_klp = await people(sessions, 2, municipality="KLP")
    for resident in in_pag:
        await register(sessions, training, resident)
        await register(sessions, cancelled, resident)
    await register(sessions, second_training, in_pag[0])
    await register(sessions, discussion, in_pag[1])
    await register(sessions, discussion, in_klp[0])
    await register(sessions, focus, in_klp[1])
    await tx(sessions, events.cancel_event, cancelled.id, by=ORGANIZER, now=T0)
    for event, resident in [
        (training, in_pag[0]),
        (training, in_pag[1]),
        (second_training, in_pag[0]),
        (discussion, in_klp[0]),
    ]:
        code = (await registration(sessions, event.id, resident)).checkin_code
        marked = await tx(sessions, event_attendance.mark_attended, event.id, code, by=ORGANIZER)
        assert marked.ok

    async with sessions() as session:
        result = await event_attendance.report(session)
        first_week = await event_attendance.report(
            session, since=T0, until=START + timedelta(days=1)
        )
        custom = await event_attendance.report(
            session, targets=[Target("all_trainings", frozenset({EventKind.TRAINING}), 4)]
        )
    lines = [
        (line.kind, line.municipality_code, line.events, line.registered, line.attended)
        for line in result.lines
    ]
    assert lines == [
        (EventKind.TRAINING, "PAG", 2, 4, 3),
        (EventKind.DISCUSSION, "KLP", 1, 1, 1),
        (EventKind.DISCUSSION, "PAG", 1, 1, 0),
        (EventKind.FOCUS_GROUP, "KLP", 1, 1, 0),
    ]
    assert (result.registered, result.attended) == (7, 4)
    progress = {p.target.name: (p.registered, p.attended, p.target.goal) for p in result.targets}
    # People, not registrations: in_pag[0] came to two trainings and counts once.
    assert progress == {
        "trained": (3, 2, 300),
        "discussions": (3, 1, 450),
        "study_visit": (0, 0, 33),
    }
    assert next((line.kind, line.registered) for line in first_week.lines) == (
        EventKind.TRAINING,
        3,
    )
    assert custom.targets[0].percent == 50.0


async def test_export_rows_name_only_those_who_shared(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event = await make_event(
        sessions,
        pag,
        capacity=2,
        questions=("Kokiai bendruomenei atstovaujate?", "Ar reikia vežimo?"),
    )
    q1, q2 = (q.id for q in event.questions)
    a, b, c = await people(sessions, 3)
    await register(
        sessions,
        event,
        a,
        share_name=True,
        display_name="Ona Onaitė",
        organization="Saulėtekis",
        answers={q1: "Saulėtekis", q2: "Taip"},
        source="qr_biblioteka",
    )
    await register(sessions, event, b, display_name="Jonas", answers={q2: "Ne"})
    await register(sessions, event, c, share_name=True, display_name="Petras")
    # Even a name stored without consent (it never is) stays out of the export.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Registration)
            .where(Registration.resident_id == b.id)
            .values(display_name="Jonas Jonaitis")
        )
    async with sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None
        header = event_attendance.export_columns(stored)
        rows = [row async for row in event_attendance.export_rows(session, event.id, batch=2)]
    assert header[-2:] == ("Kokiai bendruomenei atstovaujate?", "Ar reikia vežimo?")
    assert [(r.status, r.name, r.organization, r.answers, r.source) for r in rows] == [
        (
            RegistrationStatus.REGISTERED,
            "Ona Onaitė",
            "Saulėtekis",
            ("Saulėtekis", "Taip"),
            "qr_biblioteka",
        ),
        (RegistrationStatus.REGISTERED, None, None, ("", "Ne"), None),
        (RegistrationStatus.WAITLISTED, "Petras", None, ("", ""), None),
    ]
    assert all(r.municipality == "PAG" and len(r.checkin_code) == 6 for r in rows)


# --- audiences ------------------------------------------------------------------------


async def test_audience_of_an_events_registered_residents(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, crowd = await full_event_with_waitlist(sessions, pag)
    await tx(
        sessions,
        event_registrations.cancel_registration,
        event_id=event.id,
        resident=crowd[0],
        now=T0 + timedelta(hours=1),
    )  # 1 registered, 2 offered, 3 waitlisted
    (outsider,) = await people(sessions, 1)
    async with sessions() as session, session.begin():
        # Turned event news off: still reminded of what they registered to.
        await session.execute(
            update(Resident).where(Resident.id == crowd[1].id).values(wants_events=False)
        )
        await session.execute(update(Resident).where(Resident.id == crowd[3].id).values(muted=True))
    registered = Audience(registered_event_id=event.id)
    waiting_too = Audience(registered_event_id=event.id, with_waitlist=True)
    async with sessions() as session:
        chosen = [
            resident_id
            for resident_id, *_ in await session.execute(
                audiences.recipients(registered, MessageCategory.EVENT)
            )
        ]
        assert chosen == [crowd[1].id]
        assert await audiences.count(session, waiting_too, MessageCategory.EVENT) == 2
        # Event news for everyone still respects the preference: 5 residents, 2 left out.
        assert await audiences.count(session, Audience(), MessageCategory.EVENT) == 3
    assert outsider.id not in chosen
    assert waiting_too.to_json() == {
        "municipality_ids": [],
        "age_groups": [],
        "registered_event_id": event.id,
        "with_waitlist": True,
    }
    assert Audience.from_json(waiting_too.to_json()) == waiting_too
    assert Audience.from_json(registered.to_json()) == registered
    assert not registered.is_everyone
    assert Audience.from_json({"municipality_ids": [pag], "age_groups": []}) == Audience(
        municipality_ids=frozenset({pag})
    )


# --- organizers' lists ----------------------------------------------------------------


async def test_organizers_see_their_events_with_counts(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    event, _crowd = await full_event_with_waitlist(sessions, pag)
    await tx(
        sessions, events.create_event, spec(pag, title="Kito"), created_by=ORGANIZER + 1, now=T0
    )
    async with sessions() as session:
        mine = await events.list_for_organizer(session, ORGANIZER, now=T0)
        everyone = await events.list_for_organizer(session, None, now=T0)
        after = await events.list_for_organizer(session, ORGANIZER, now=START + timedelta(days=1))
        summary = await events.summary(session, event.id)
    assert [(s.event.id, s.registered, s.waitlisted, s.offered, s.places_left) for s in mine] == [
        (event.id, 2, 2, 0, 0)
    ]
    assert len(everyone) == 2
    assert after == []
    assert summary is not None and summary.registered == 2


# --- erasure --------------------------------------------------------------------------


async def test_erasure_keeps_anonymous_attendance_and_frees_future_places(
    sessions: async_sessionmaker[AsyncSession], pag: int
) -> None:
    # Erasure happens now (the resident's /forget): times here are relative to the clock.
    now = utcnow()
    created = now - timedelta(days=3)
    yesterday = now - timedelta(days=1)

    async def create(**overrides: Any) -> Event:
        return await tx(
            sessions,
            events.create_event,
            spec(pag, **overrides),
            created_by=ORGANIZER,
            now=created,
        )

    past = await create(
        starts_at=yesterday,
        ends_at=yesterday + timedelta(hours=2),
        questions=("Kokiai bendruomenei atstovaujate?",),
    )
    future = await create(
        capacity=1, starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=2)
    )
    leaving, waiting = await people(sessions, 2)
    await register(
        sessions,
        past,
        leaving,
        now=created,
        share_name=True,
        display_name="Ona Onaitė",
        organization="Saulėtekis",
        answers={past.questions[0].id: "Saulėtekis"},
    )
    await register(sessions, future, leaving, now=created)
    waited = await register(sessions, future, waiting, now=created)
    assert waited.outcome is RegistrationOutcome.WAITLISTED
    code = (await registration(sessions, past.id, leaving)).checkin_code
    marked = await tx(
        sessions, event_attendance.mark_attended, past.id, code, by=ORGANIZER, now=yesterday
    )
    assert marked.ok
    async with sessions() as session:
        before = await event_attendance.report(session)

    async with sessions() as session, session.begin():
        resident = await session.get(Resident, leaving.id)
        assert resident is not None
        await residents.erase(session, resident)

    async with sessions() as session:
        kept = list(await session.scalars(select(Registration).order_by(Registration.id)))
        after = await event_attendance.report(session)
    anonymous = [r for r in kept if r.resident_id is None]
    assert len(anonymous) == 2
    past_row = next(r for r in anonymous if r.event_id == past.id)
    assert past_row.status is RegistrationStatus.REGISTERED
    assert past_row.attended_at == yesterday
    assert (past_row.display_name, past_row.share_name, past_row.answers) == (None, False, None)
    assert past_row.organization is None
    future_row = next(r for r in anonymous if r.event_id == future.id)
    assert future_row.status is RegistrationStatus.CANCELLED
    assert [(line.registered, line.attended) for line in after.lines] == [(1, 1)]
    assert [(line.registered, line.attended) for line in before.lines] == [(2, 1)]
    assert after.targets[0].attended == before.targets[0].attended == 1
    # The freed place goes to the waitlist at the next run of the offers job.
    changes = await tx(sessions, event_registrations.expire_offers, utcnow())
    assert [(c.registration.resident_id, c.change) for c in changes] == [
        (waiting.id, OfferChangeKind.OFFERED)
    ]
