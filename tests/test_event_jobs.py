"""Timed work of events: reminders to the registered residents through the delivery engine
(once per event and offset, also across restarts and two processes at once; urgent only
when the event starts before quiet hours end) and the waitlist's timed offers (the next
resident gets the offer with its buttons, the one who did not answer is told).

The tests drive the job with explicit times; the scheduler's own runs (real clock) are
paused so that they cannot take the work first. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels.telegram.event_callbacks import OfferAnswer, OfferCb
from bot.channels.telegram.event_jobs import EventJobs
from bot.config import ConfigError, load_settings
from bot.db import create_engine, create_session_factory
from bot.localapi.server import LocalBotAPI, StoredMessage
from bot.scheduler import create_scheduler
from bot.services import event_registrations, events, residents
from bot.services.event_registrations import RegistrationOutcome
from bot.services.events import EventSpec
from models import (
    Broadcast,
    BroadcastStatus,
    Event,
    EventKind,
    EventReminder,
    MessageCategory,
    Municipality,
    OutboxMessage,
    OutboxStatus,
    Registration,
    RegistrationStatus,
    Resident,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Mode, harness_settings
from tests.support.residents import add_residents
from tests.test_announcements import FAST, NO_QUIET_HOURS

VILNIUS = ZoneInfo("Europe/Vilnius")
ORGANIZER_ID = 5001
# Far ahead, so the scheduler's real clock never finds these reminders due.
START = datetime(2035, 12, 6, 16, 0, tzinfo=UTC)  # Thursday 18:00 in Vilnius
TITLE = "Mokymai bendruomenių lyderiams"
WHEN = "🗓 2035 m. gruodžio 6 d., ketvirtadienis, 18:00–21:00"
PLACE = "📍 Vilniaus g. 9, Pagėgiai"
CANCEL_HINT = (
    "Jei negalėsite atvykti, atšaukite registraciją skiltyje „Renginiai“ – vieta atiteks kitam."
)


def reminder(soon: str, *place: str, when: str = WHEN, title: str = TITLE) -> str:
    """A reminder as the resident reads it."""
    return "\n".join([f"🔔 Priminimas: „{title}“ – {soon}.", "", when, *place, "", CANCEL_HINT])


async def start_harness(
    database_url: str, api: LocalBotAPI, mode: Mode, **settings: Any
) -> BotHarness:
    values: dict[str, Any] = {"delivery": FAST, **NO_QUIET_HOURS, **settings}
    config = harness_settings(database_url, api, mode, **values)
    harness = BotHarness(api, config, mode=mode, webhook_port=config.webhook.listen_port)
    await harness.start()
    pause_scheduled_run(harness)
    return harness


def pause_scheduled_run(harness: BotHarness) -> None:
    assert harness.app is not None
    job = harness.app.scheduler.get_job("event_jobs")
    assert job is not None
    job.pause()


async def restart(harness: BotHarness) -> None:
    await harness.restart()
    pause_scheduled_run(harness)


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: Mode
) -> AsyncIterator[BotHarness]:
    """The bot with quiet hours off and fast delivery."""
    bot_harness = await start_harness(database_url, local_api, mode)
    yield bot_harness
    await bot_harness.stop()


def jobs(harness: BotHarness) -> EventJobs:
    app = harness.app
    assert app is not None
    return EventJobs(app.session_factory, app.bot, app.i18n, app.settings, app.delivery)


async def make_event(db: Database, **overrides: Any) -> Event:
    async with db.sessions() as session, session.begin():
        pag = await session.scalar(select(Municipality.id).where(Municipality.code == "PAG"))
        assert pag is not None
        values: dict[str, Any] = {
            "kind": EventKind.TRAINING,
            "title": TITLE,
            "starts_at": START,
            "ends_at": START + timedelta(hours=3),
            "municipality_ids": frozenset({pag}),
            "place_address": "Vilniaus g. 9, Pagėgiai",
            "capacity": 3,
        }
        values.update(overrides)
        return await events.create_event(session, EventSpec(**values), created_by=ORGANIZER_ID)


async def register(db: Database, event_id: int, chat_ids: list[int]) -> list[RegistrationOutcome]:
    async with db.sessions() as session, session.begin():
        outcomes = []
        for chat_id in chat_ids:
            person = await session.scalar(
                select(Resident).where(Resident.external_id == str(chat_id))
            )
            assert person is not None
            result = await event_registrations.register(session, event_id, person)
            outcomes.append(result.outcome)
        return outcomes


async def cancel(db: Database, event_id: int, chat_id: int) -> None:
    async with db.sessions() as session, session.begin():
        person = await session.scalar(select(Resident).where(Resident.external_id == str(chat_id)))
        assert person is not None
        result = await event_registrations.cancel_registration(
            session, event_id=event_id, resident=person
        )
        assert result.ok and result.offered == [], result


async def event_broadcasts(db: Database) -> list[Broadcast]:
    found = await db.all(Broadcast, Broadcast.category == MessageCategory.EVENT)
    return sorted(found, key=lambda b: b.id)


async def wait_done(db: Database, broadcast_ids: list[int]) -> None:
    """Until these broadcasts have been sent and recorded."""
    for _ in range(300):
        done = await db.all(Broadcast, Broadcast.id.in_(broadcast_ids))
        if all(b.status is BroadcastStatus.DONE for b in done):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"broadcasts {broadcast_ids} were not all sent")


def texts(harness: BotHarness, chat_ids: list[int]) -> dict[int, list[str]]:
    return {chat_id: [m.text for m in harness.api.bot_messages(chat_id)] for chat_id in chat_ids}


async def registered_event(harness: BotHarness, db: Database) -> tuple[Event, dict[str, list[int]]]:
    """Three registered (one wants no event messages: they registered, so they get their
    reminders), one waiting, one who cancelled, one who never registered."""
    api = harness.api
    registered = await add_residents(db.sessions, api, 2, first_chat_id=100_000)
    no_event_news = await add_residents(
        db.sessions, api, 1, first_chat_id=100_010, wants_events=False
    )
    cancelled = await add_residents(db.sessions, api, 1, first_chat_id=100_020)
    waiting = await add_residents(db.sessions, api, 1, first_chat_id=100_030)
    others = await add_residents(db.sessions, api, 1, first_chat_id=100_040)
    event = await make_event(db)
    # The one who cancels does it before anyone waits, so no offer is made.
    assert await register(db, event.id, cancelled) == [RegistrationOutcome.REGISTERED]
    await cancel(db, event.id, cancelled[0])
    assert await register(db, event.id, registered + no_event_news + waiting) == [
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.WAITLISTED,
    ]
    return event, {
        "registered": registered + no_event_news,
        "not": cancelled + waiting + others,
    }


# -- reminders ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["polling", "webhook"], indirect=True)
async def test_reminders_24_h_and_2_h_before_reach_the_registered_once(
    harness: BotHarness, db: Database
) -> None:
    event, who = await registered_event(harness, db)
    day_before = START - timedelta(hours=24)

    # 24 hours before: one broadcast to the registered, with date, time and place.
    created, offers = await jobs(harness).run(now=day_before)
    assert offers == []
    [broadcast_id] = created
    await wait_done(db, created)
    [broadcast] = await event_broadcasts(db)
    assert broadcast.id == broadcast_id
    assert broadcast.audience == {
        "municipality_ids": [],
        "age_groups": [],
        "registered_event_id": event.id,
    }
    assert (broadcast.total, broadcast.urgent, broadcast.created_by) == (3, False, ORGANIZER_ID)
    first = reminder("rytoj", PLACE)
    assert texts(harness, who["registered"]) == {c: [first] for c in who["registered"]}
    assert texts(harness, who["not"]) == {c: [] for c in who["not"]}
    [message] = harness.api.bot_messages(who["registered"][0])
    assert message.html is not None
    assert message.html.startswith("🔔 <b>Priminimas:</b> „Mokymai")

    # Again half a minute later, and after a restart with new sessions: nothing more.
    assert await jobs(harness).run(now=day_before + timedelta(seconds=30)) == ([], [])
    await restart(harness)
    assert await jobs(harness).run(now=START - timedelta(hours=3)) == ([], [])
    assert len(await event_broadcasts(db)) == 1

    # 2 hours before: the second reminder, once, also after another restart.
    two_hours = await jobs(harness).reminders(now=START - timedelta(hours=2))
    assert len(two_hours) == 1
    await restart(harness)
    assert await jobs(harness).run(now=START - timedelta(minutes=90)) == ([], [])
    assert await jobs(harness).run(now=START - timedelta(minutes=1)) == ([], [])
    await wait_done(db, two_hours)
    second = reminder("po 2 valandų", PLACE)
    assert texts(harness, who["registered"]) == {c: [first, second] for c in who["registered"]}
    assert texts(harness, who["not"]) == {c: [] for c in who["not"]}
    markers = await db.all(EventReminder, EventReminder.event_id == event.id)
    assert sorted((m.offset_minutes, m.sent) for m in markers) == [(120, True), (1440, True)]
    outbox = await db.all(OutboxMessage)
    assert len(outbox) == 6 and {row.status for row in outbox} == {OutboxStatus.SENT}


async def test_two_jobs_at_once_create_one_reminder(
    harness: BotHarness, db: Database, database_url: str
) -> None:
    """Two processes: each with its own engine and sessions, running at the same moment."""
    _event, who = await registered_event(harness, db)
    app = harness.app
    assert app is not None
    other_engine = create_engine(database_url)
    try:
        other = EventJobs(
            create_session_factory(other_engine), app.bot, app.i18n, app.settings, app.delivery
        )
        moment = START - timedelta(hours=24)
        results = await asyncio.gather(
            jobs(harness).reminders(now=moment), other.reminders(now=moment)
        )
    finally:
        await other_engine.dispose()
    assert sorted(len(created) for created in results) == [0, 1]
    [broadcast] = await event_broadcasts(db)
    await wait_done(db, [broadcast.id])
    assert texts(harness, who["registered"]) == {
        c: [reminder("rytoj", PLACE)] for c in who["registered"]
    }


async def test_an_event_nobody_registered_to_gets_no_reminder(
    harness: BotHarness, db: Database
) -> None:
    await add_residents(db.sessions, harness.api, 2, first_chat_id=100_000)
    event = await make_event(db)
    assert await jobs(harness).run(now=START - timedelta(hours=24)) == ([], [])
    assert await event_broadcasts(db) == []
    [marker] = await db.all(EventReminder, EventReminder.event_id == event.id)
    assert (marker.offset_minutes, marker.sent) == (1440, False)


@pytest.fixture
async def quiet_now(
    database_url: str, local_api: LocalBotAPI
) -> AsyncIterator[tuple[BotHarness, datetime]]:
    """Quiet hours from an hour ago to two hours from now (Vilnius time), so the delivery
    engine holds non-urgent messages during the test; and a moment a week ahead at the same
    time of day, inside quiet hours too, for the job."""
    local = utcnow().astimezone(VILNIUS)
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    bot_harness = await start_harness(
        database_url,
        local_api,
        "polling",
        quiet_hours_start=start.isoformat("minutes"),
        quiet_hours_end=end.isoformat("minutes"),
    )
    yield bot_harness, (local + timedelta(days=7)).astimezone(UTC)
    await bot_harness.stop()


async def test_in_quiet_hours_only_a_reminder_of_an_event_starting_soon_is_urgent(
    quiet_now: tuple[BotHarness, datetime], db: Database
) -> None:
    harness, now = quiet_now
    soon_people = await add_residents(db.sessions, harness.api, 2, first_chat_id=100_000)
    later_people = await add_residents(db.sessions, harness.api, 2, first_chat_id=100_010)
    # Starts in 1 h 40 min, before quiet hours end: its 2-hour reminder cannot wait.
    soon_start = now + timedelta(minutes=100)
    soon = await make_event(
        db,
        title="Vakaro konsultacija",
        starts_at=soon_start,
        ends_at=soon_start + timedelta(hours=1),
        place_address=None,
        online_url="https://meet.example.lt/konsultacija?a=1&b=2",
    )
    # Starts tomorrow: its 24-hour reminder waits for the morning.
    later = await make_event(
        db, starts_at=now + timedelta(hours=24), ends_at=now + timedelta(hours=26)
    )
    await register(db, soon.id, soon_people)
    await register(db, later.id, later_people)

    created, _offers = await jobs(harness).run(now=now)
    assert len(created) == 2
    by_event = {b.audience["registered_event_id"]: b for b in await event_broadcasts(db)}
    assert (by_event[soon.id].urgent, by_event[later.id].urgent) == (True, False)
    # Of the two reminders due at once for the soon event, only the latest (2 h) is sent.
    markers = await db.all(EventReminder, EventReminder.event_id == soon.id)
    assert sorted((m.offset_minutes, m.sent) for m in markers) == [(120, True), (1440, False)]

    await wait_done(db, [by_event[soon.id].id])
    when = (
        f"🗓 {format_day(soon_start)}, {soon_start.astimezone(VILNIUS):%H:%M}–"
        f"{(soon_start + timedelta(hours=1)).astimezone(VILNIUS):%H:%M}"
    )
    link = "💻 Prisijungti nuotoliu: https://meet.example.lt/konsultacija?a=1&b=2"
    expected = reminder("po 2 valandų", link, when=when, title="Vakaro konsultacija")
    assert texts(harness, soon_people) == {c: [expected] for c in soon_people}
    # The other is queued and held while quiet hours last.
    held = await db.all(OutboxMessage, OutboxMessage.broadcast_id == by_event[later.id].id)
    assert [row.status for row in held] == [OutboxStatus.PENDING, OutboxStatus.PENDING]
    assert texts(harness, later_people) == {c: [] for c in later_people}


def format_day(moment: datetime) -> str:
    """``2026 m. gruodžio 3 d., ketvirtadienis`` without the project's helpers."""
    months = [
        "sausio", "vasario", "kovo", "balandžio", "gegužės", "birželio",
        "liepos", "rugpjūčio", "rugsėjo", "spalio", "lapkričio", "gruodžio",
    ]  # fmt: skip
    days = [
        "pirmadienis", "antradienis", "trečiadienis", "ketvirtadienis",
        "penktadienis", "šeštadienis", "sekmadienis",
    ]  # fmt: skip
    local = moment.astimezone(VILNIUS)
    return f"{local.year} m. {months[local.month - 1]} {local.day} d., {days[local.weekday()]}"


# -- waitlist offers ---------------------------------------------------------------------------


def offer_buttons(message: StoredMessage) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for b in message.inline_buttons()]


async def statuses(db: Database, event_id: int) -> dict[int, RegistrationStatus]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(Resident.external_id, Registration.status)
            .join(Resident, Resident.id == Registration.resident_id)
            .where(Registration.event_id == event_id)
        )
        return {int(chat_id): status for chat_id, status in rows}


async def test_an_expired_offer_passes_to_the_next_who_gets_the_buttons(
    harness: BotHarness, db: Database
) -> None:
    first, erased, waiting, second = await add_residents(
        db.sessions, harness.api, 4, first_chat_id=100_000
    )
    event = await make_event(db, capacity=2, offer_hours=12)
    assert await register(db, event.id, [first, erased, waiting, second]) == [
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.REGISTERED,
        RegistrationOutcome.WAITLISTED,
        RegistrationOutcome.WAITLISTED,
    ]
    # A registered resident erases their data: the place is freed without an offer; the
    # job offers it to the first on the waitlist.
    async with db.sessions() as session, session.begin():
        gone = await session.scalar(select(Resident).where(Resident.external_id == str(erased)))
        assert gone is not None
        await residents.erase(session, gone)
    offered_at = datetime(2035, 12, 1, 8, 0, tzinfo=UTC)  # Saturday 10:00 in Vilnius
    created, sent = await jobs(harness).run(now=offered_at)
    assert created == []
    assert [(n.chat_id, n.change) for n in sent] == [(waiting, "offered")]
    [offer] = harness.api.bot_messages(waiting)
    expected_offer = (
        "Jums atsilaisvino vieta renginyje „Mokymai bendruomenių lyderiams“.\n\n"
        f"{WHEN}\n{PLACE}\n\n"
        "Vietą Jums laikome iki 2035 m. gruodžio 1 d., šeštadienis, 22:00. Ar dalyvausite?"
    )
    assert offer.text == expected_offer
    registration_id = sent[0].registration_id
    accept, decline = OfferAnswer.ACCEPT, OfferAnswer.DECLINE
    assert offer_buttons(offer) == [
        ("Taip, dalyvausiu", OfferCb(registration=registration_id, answer=accept).pack()),
        (
            "Ne, atiduokite vietą kitam",
            OfferCb(registration=registration_id, answer=decline).pack(),
        ),
    ]
    assert await statuses(db, event.id) == {
        first: RegistrationStatus.REGISTERED,
        waiting: RegistrationStatus.OFFERED,
        second: RegistrationStatus.WAITLISTED,
    }

    # Before the 12 hours are up nothing changes, also after a restart.
    assert await jobs(harness).run(now=offered_at + timedelta(hours=11)) == ([], [])
    await restart(harness)

    # Unanswered after 12 hours: the resident is told, the next one gets the offer.
    expired_at = offered_at + timedelta(hours=12, seconds=30)
    _created, sent = await jobs(harness).run(now=expired_at)
    assert sorted((n.chat_id, n.change) for n in sent) == [
        (waiting, "expired"),
        (second, "offered"),
    ]
    assert [m.text for m in harness.api.bot_messages(waiting)] == [
        expected_offer,
        "Jums laikyta vieta renginyje „Mokymai bendruomenių lyderiams“ atiteko kitam "
        "laukiančiajam, nes laiku negavome Jūsų atsakymo. Jei vis dar norite dalyvauti, "
        "registruokitės dar kartą skiltyje „Renginiai“.",
    ]
    [next_offer] = harness.api.bot_messages(second)
    assert next_offer.text.startswith("Jums atsilaisvino vieta renginyje „Mokymai")
    assert "iki 2035 m. gruodžio 2 d., sekmadienis, 10:00" in next_offer.text
    [next_id] = [n.registration_id for n in sent if n.chat_id == second]
    assert [data for _text, data in offer_buttons(next_offer)] == [
        OfferCb(registration=next_id, answer=accept).pack(),
        OfferCb(registration=next_id, answer=decline).pack(),
    ]
    assert await statuses(db, event.id) == {
        first: RegistrationStatus.REGISTERED,
        waiting: RegistrationStatus.EXPIRED,
        second: RegistrationStatus.OFFERED,
    }
    # Nobody is told twice; the first registered resident was never written to.
    assert await jobs(harness).run(now=expired_at + timedelta(seconds=30)) == ([], [])
    assert len(harness.api.bot_messages(waiting)) == 2
    assert harness.api.bot_messages(first) == []


async def test_an_offer_that_cannot_be_delivered_still_expires_and_passes_on(
    harness: BotHarness, db: Database
) -> None:
    first, blocked, second = await add_residents(db.sessions, harness.api, 3, first_chat_id=100_000)
    event = await make_event(db, capacity=1)
    await register(db, event.id, [first, blocked, second])
    harness.api.block_chat(blocked)
    async with db.sessions() as session, session.begin():
        gone = await session.scalar(select(Resident).where(Resident.external_id == str(first)))
        assert gone is not None
        await residents.erase(session, gone)
    moment = datetime(2035, 12, 1, 8, 0, tzinfo=UTC)
    assert await jobs(harness).run(now=moment) == ([], [])  # nothing could be sent
    assert await statuses(db, event.id) == {
        blocked: RegistrationStatus.OFFERED,
        second: RegistrationStatus.WAITLISTED,
    }
    _created, sent = await jobs(harness).run(now=moment + timedelta(hours=13))
    assert [(n.chat_id, n.change) for n in sent] == [(second, "offered")]
    assert await statuses(db, event.id) == {
        blocked: RegistrationStatus.EXPIRED,
        second: RegistrationStatus.OFFERED,
    }


# -- the scheduler and the settings --------------------------------------------------------------


async def test_the_application_schedules_the_event_job(harness: BotHarness) -> None:
    app = harness.app
    assert app is not None
    job = app.scheduler.get_job("event_jobs")
    assert job is not None
    assert isinstance(job.func.__self__, EventJobs)
    assert job.trigger.interval == timedelta(seconds=30)


def test_scheduler_lists_the_event_job(database_url: str) -> None:
    async def nothing() -> None:
        return None

    engine = create_engine(database_url)
    scheduler = create_scheduler(create_session_factory(engine), nothing, nothing)
    assert [job.id for job in scheduler.get_jobs()] == [
        "prune_processed_updates",
        "poll_jobs",
        "event_jobs",
    ]


def test_event_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(_env_file=None).event
    assert (defaults.offer_hours, defaults.reminder_offsets) == (12, [1440, 120])
    monkeypatch.setenv("EVENT_OFFER_HOURS", "6")
    monkeypatch.setenv("EVENT_REMINDER_OFFSETS", "60, 2880")
    chosen = load_settings(_env_file=None).event
    assert (chosen.offer_hours, chosen.reminder_offsets) == (6, [2880, 60])


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EVENT_OFFER_HOURS", "0", "EVENT_OFFER_HOURS: Input should be greater than or equal to 1"),
        (
            "EVENT_OFFER_HOURS",
            "200",
            "EVENT_OFFER_HOURS: Input should be less than or equal to 168",
        ),
        (
            "EVENT_REMINDER_OFFSETS",
            "1440,0",
            "EVENT_REMINDER_OFFSETS: at most 5 numbers of minutes before the start, each from 1 "
            "to 43200 (30 days), e.g. 1440,120",
        ),
    ],
)
def test_bad_event_defaults_stop_with_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    assert str(error.value) == message
