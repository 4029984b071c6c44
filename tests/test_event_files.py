"""Events from a file (YAML or CSV): the examples import with the right UTC times; every
problem is reported on its line and nothing is saved; the command line and the bot (an
organizer sends the file; anyone else is refused) both import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import event_reports as texts
from bot.db import create_engine, create_session_factory
from bot.i18n import create_i18n
from bot.services import event_import
from bot.services.event_import import EventFileProblem, EventImportError
from bot.services.events import EventProblem
from bot.services.survey_import import SurveyProblem
from models import (
    AgeGroup,
    Event,
    EventKind,
    EventQuestion,
    EventStatus,
    Municipality,
    Poll,
)
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness
from tests.test_survey_import import ORGANIZER_ID, cli, organizer, send_file

VILNIUS = ZoneInfo("Europe/Vilnius")
DOCS = Path(__file__).resolve().parents[1] / "docs"
BEFORE_EXAMPLES = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    content: bytes | str,
    filename: str = "renginiai.yaml",
    now: datetime = BEFORE_EXAMPLES,
) -> list[Event]:
    """Import in one transaction, as the command line and the bot do."""
    async with sessions() as session, session.begin():
        return await event_import.import_events(
            session, content, filename=filename, created_by=7, tz=VILNIUS, now=now
        )


async def codes(db: Database, event: Event) -> set[str]:
    ids = {m.id for m in event.municipalities}
    return {m.code for m in await db.all(Municipality) if m.id in ids}


def lithuanian(error: EventImportError) -> list[str]:
    i18n = create_i18n("lt")
    with i18n.context(), i18n.use_locale("lt"):
        return texts.error_lines(error)


def vilnius(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VILNIUS).astimezone(UTC)


def days_ahead(days: int) -> str:
    return f"{datetime.now(VILNIUS) + timedelta(days=days):%Y-%m-%d}"


def future_yaml() -> str:
    """Two events after today (the tests run any day)."""
    day, later = days_ahead(10), days_ahead(20)
    return (
        "events:\n"
        "  - kind: konsultacija\n"
        "    title: Konsultacija apie seniūnijos biudžetą\n"
        "    municipalities: [Pagėgių sav.]\n"
        "    place: Vilniaus g. 9, Pagėgiai\n"
        f"    starts: {day} 18:00\n"
        "    ends: '19:30'\n"
        "    capacity: 21\n"
        "  - kind: seminar\n"
        "    title: Seminaras\n"
        "    municipalities: PAG\n"
        "    online_url: https://meet.example.org/seminaras\n"
        f"    starts: {later} 10:00\n"
        f"    ends: {later} 12:00\n"
    )


# --- valid files ------------------------------------------------------------------------


async def test_the_yaml_example_imports_with_utc_times(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    training, visit, discussion = await run_import(
        sessions, (DOCS / "events-example.yaml").read_bytes()
    )
    assert training.kind is EventKind.TRAINING
    assert training.status is EventStatus.PUBLISHED
    assert training.title == "Mokymai bendruomenių lyderiams"
    assert training.starts_at == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # 18:00 in Vilnius
    assert training.ends_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)  # "20:00": that day
    assert training.registration_deadline == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert (training.latitude, training.longitude) == (55.1386, 21.9128)
    assert training.capacity == 30
    assert [q.text for q in training.questions] == ["Kokiai bendruomenei atstovaujate?"]
    assert training.reminder_offsets == [1440, 120]
    assert training.created_by == 7
    assert await codes(db, training) == {"PAG"}

    assert visit.kind is EventKind.STUDY_VISIT
    assert await codes(db, visit) == {"PAG", "JUR", "TAU"}  # codes and names
    assert visit.starts_at == datetime(2027, 3, 14, 6, 0, tzinfo=UTC)  # winter time: UTC+2
    assert visit.ends_at == datetime(2027, 3, 18, 18, 0, tzinfo=UTC)
    assert (visit.capacity, visit.per_organization_quota, visit.offer_hours) == (33, 3, 24)
    assert visit.reminder_offsets == [1440, 120]  # the default

    assert discussion.kind is EventKind.DISCUSSION
    assert discussion.place_address is None
    assert discussion.online_url == "https://meet.example.org/biudzetas"
    assert discussion.capacity is None
    assert sorted(discussion.audience["age_groups"]) == [
        AgeGroup.AGE_18_29.value,
        AgeGroup.AGE_30_44.value,
    ]
    assert await codes(db, discussion) == {"VLN"}
    assert await db.count(Event) == 3
    assert await db.count(EventQuestion) == 1


async def test_the_csv_example_imports(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    training, focus = await run_import(
        sessions, (DOCS / "events-example.csv").read_bytes(), "renginiai.csv"
    )
    assert training.kind is EventKind.TRAINING
    assert training.place_address == "Vilniaus g. 9, Pagėgiai"
    assert training.starts_at == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    assert training.ends_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert [q.text for q in training.questions] == [
        "Kokiai bendruomenei atstovaujate?",
        "Ar reikia vežimo?",
    ]
    assert training.reminder_offsets == [1440, 120]
    assert focus.kind is EventKind.FOCUS_GROUP  # "fokus grupė"
    assert await codes(db, focus) == {"JUR"}  # "Jurbarko r."
    assert focus.capacity == 12
    assert focus.audience["age_groups"] == [AgeGroup.AGE_18_29.value]
    assert await db.count(Event) == 2


async def test_a_csv_file_as_excel_writes_it_with_semicolons(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    content = (
        "Kind;Title;Municipalities;Place;Starts;Ends;Capacity;Reminders\r\n"
        'Mokymai;Mokymai;PAG, KLP;"Liepų g. 1; salė";'
        "2026-12-03 18:00;2026-12-03 20:00;;3d | 30min\r\n"
        "\r\n"
    )
    (event,) = await run_import(sessions, content.encode("utf-8-sig"), "RENGINIAI.CSV")
    assert event.place_address == "Liepų g. 1; salė"
    assert event.capacity is None
    assert event.reminder_offsets == [4320, 30]
    assert await codes(db, event) == {"PAG", "KLP"}


# --- invalid files: the right line, nothing saved ---------------------------------------

GOOD = (
    "events:\n"  # 1
    "  - kind: training\n"  # 2
    "    title: Mokymai\n"  # 3
    "    municipalities: [PAG]\n"  # 4
    "    place: Vilniaus g. 9\n"  # 5
    "    starts: 2026-12-03 18:00\n"  # 6
    "    ends: 2026-12-03 20:00\n"  # 7
)
HEADER = "kind,title,municipalities,place,starts,ends,capacity\n"
ROW = "training,Mokymai,PAG,Vilniaus g. 9,2026-12-03 18:00,2026-12-03 20:00,30\n"

INVALID = [
    pytest.param(GOOD.replace("[PAG]", "[PAG"), "yaml", 5, SurveyProblem.NOT_YAML, id="not-yaml"),
    pytest.param("- Mokymai\n- Diskusija\n", "yaml", 1, EventFileProblem.NOT_EVENTS, id="a-list"),
    pytest.param("events: []\n", "yaml", 1, EventFileProblem.NO_EVENTS, id="no-events"),
    pytest.param(
        GOOD + "    venue: Salė\n", "yaml", 8, SurveyProblem.UNKNOWN_KEY, id="unknown-key"
    ),
    pytest.param(
        GOOD.replace("    title: Mokymai\n", ""),
        "yaml",
        2,
        SurveyProblem.MISSING_KEY,
        id="no-title",
    ),
    pytest.param(
        GOOD.replace("kind: training", "kind: koncertas"),
        "yaml",
        2,
        EventFileProblem.BAD_EVENT_KIND,
        id="wrong-kind",
    ),
    pytest.param(
        GOOD.replace("[PAG]", "[PAG, Atlantida]"),
        "yaml",
        4,
        SurveyProblem.UNKNOWN_MUNICIPALITY,
        id="unknown-municipality",
    ),
    pytest.param(
        GOOD.replace("starts: 2026-12-03 18:00", "starts: gruodžio 3"),
        "yaml",
        6,
        SurveyProblem.BAD_DATE,
        id="wrong-date",
    ),
    pytest.param(
        GOOD.replace("ends: 2026-12-03 20:00", "ends: 2026-12-03 17:00"),
        "yaml",
        7,
        EventProblem.END_BEFORE_START,
        id="ends-before-start",
    ),
    pytest.param(
        GOOD.replace("2026-12-03", "2026-10-03"),
        "yaml",
        6,
        EventProblem.START_IN_PAST,
        id="start-in-past",
    ),
    pytest.param(
        GOOD.replace("    place: Vilniaus g. 9\n", ""),
        "yaml",
        2,
        EventProblem.NO_PLACE,
        id="no-place",
    ),
    pytest.param(GOOD + "    capacity: 0\n", "yaml", 8, EventProblem.BAD_CAPACITY, id="no-places"),
    pytest.param(
        GOOD + "    capacity: daug\n", "yaml", 8, SurveyProblem.NOT_INTEGER, id="capacity-text"
    ),
    pytest.param(
        GOOD + "    online_url: meet.example.org\n", "yaml", 8, EventProblem.BAD_URL, id="bad-url"
    ),
    pytest.param(
        GOOD + "    registration_deadline: 2026-12-04 12:00\n",
        "yaml",
        8,
        EventProblem.DEADLINE_AFTER_START,
        id="deadline-after-start",
    ),
    pytest.param(
        GOOD + "    questions:\n      - Kas?\n      - " + "Ką " * 120 + "\n",
        "yaml",
        10,
        EventProblem.QUESTION_TOO_LONG,
        id="question-too-long",
    ),
    pytest.param(
        GOOD + "    reminders: [24h, 2 val.]\n",
        "yaml",
        8,
        EventFileProblem.BAD_REMINDER,
        id="bad-reminder",
    ),
    pytest.param(
        GOOD + GOOD.removeprefix("events:\n").replace("title: Mokymai", "title: ''"),
        "yaml",
        9,
        SurveyProblem.MISSING_KEY,
        id="second-event-without-title",
    ),
    pytest.param(
        HEADER.replace("place", "vieta") + ROW, "csv", 1, SurveyProblem.UNKNOWN_KEY, id="csv-column"
    ),
    pytest.param(
        HEADER.replace("starts,", "") + ROW, "csv", 1, SurveyProblem.MISSING_KEY, id="csv-no-starts"
    ),
    pytest.param(
        HEADER + ROW + ROW.replace("2026-12-03 18:00", "3 gruodžio"),
        "csv",
        3,
        SurveyProblem.BAD_DATE,
        id="csv-wrong-date",
    ),
    pytest.param(
        HEADER + ROW + ROW.replace(",30\n", ',"30\n'),
        "csv",
        3,
        EventFileProblem.CSV_BROKEN,
        id="csv-open-quote",
    ),
    pytest.param(
        HEADER + ROW.replace(",30\n", ",30,Taip\n"),
        "csv",
        2,
        EventFileProblem.CSV_EXTRA_CELLS,
        id="csv-extra-cell",
    ),
    pytest.param(HEADER, "csv", 1, EventFileProblem.NO_EVENTS, id="csv-header-only"),
]


@pytest.mark.parametrize(("content", "suffix", "line", "problem"), INVALID)
async def test_invalid_file_is_reported_on_its_line_and_nothing_is_saved(
    sessions: async_sessionmaker[AsyncSession],
    db: Database,
    content: str,
    suffix: str,
    line: int,
    problem: object,
) -> None:
    with pytest.raises(EventImportError) as caught:
        await run_import(sessions, content.encode(), f"renginiai.{suffix}")
    assert [(i.line, i.problem) for i in caught.value.issues] == [(line, problem)]
    assert lithuanian(caught.value)[0].startswith(f"{line} eilutė: ")
    assert await db.count(Event) == 0


async def test_every_problem_of_every_event_is_listed_in_lithuanian(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    content = (
        "events:\n"  # 1
        "  - kind: training\n"  # 2: a valid event is not saved either
        "    title: Mokymai\n"  # 3
        "    municipalities: [PAG]\n"  # 4
        "    place: Vilniaus g. 9\n"  # 5
        "    starts: 2026-12-03 18:00\n"  # 6
        "    ends: '20:00'\n"  # 7
        "  - kind: focus_group\n"  # 8
        "    title: Fokus grupė\n"  # 9
        "    municipalities: [XYZ]\n"  # 10
        "    starts: 2026-12-04 18:00\n"  # 11
        "    ends: 2026-12-04 17:00\n"  # 12
        "    capacity: 0\n"  # 13
        "    reminders: [rytoj]\n"  # 14
    )
    with pytest.raises(EventImportError) as caught:
        await run_import(sessions, content)
    assert lithuanian(caught.value) == [
        "8 eilutė: nurodykite vietą („place“) arba nuotolinio renginio nuorodą („online_url“).",
        "10 eilutė: nežinomas savivaldybės kodas „XYZ“ (kodai – faile "
        "models/data/municipalities.csv).",
        "12 eilutė: renginys turi baigtis vėliau, nei prasideda.",
        "13 eilutė: vietų skaičius turi būti nuo 1 iki 100000 (neribotam palikite tuščią).",
        "14 eilutė: netinkamas priminimas „rytoj“: parašykite, kiek laiko prieš pradžią, "
        "pvz., 24h, 2h arba 30min.",
    ]
    assert await db.count(Event) == 0


async def test_an_inactive_municipality_and_a_file_that_is_not_text(
    sessions: async_sessionmaker[AsyncSession], db: Database
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Municipality).where(Municipality.code == "PAG").values(is_active=False)
        )
    with pytest.raises(EventImportError) as caught:
        await run_import(sessions, GOOD)
    assert lithuanian(caught.value) == [
        "4 eilutė: savivaldybė PAG šiame robote neaktyvi (administratorius ją gali įjungti "
        "komanda /activate PAG)."
    ]
    with pytest.raises(EventImportError) as caught:
        await run_import(sessions, b"\xff\xfe\x00binary", "renginiai.csv")
    assert lithuanian(caught.value) == ["Failas nėra UTF-8 tekstas."]
    assert await db.count(Event) == 0


def test_events_files_are_told_from_surveys_by_their_content() -> None:
    assert event_import.is_events_file(GOOD, "renginiai.yaml")
    assert event_import.is_events_file("events: [", "RENGINIAI.YML")  # broken, still events
    assert event_import.is_events_file("anything", "renginiai.csv")
    assert not event_import.is_events_file("title: Apklausa\nquestions: []\n", "a.yaml")
    assert not event_import.is_events_file(b"\xff\xfe", "a.yaml")
    assert not event_import.is_events_file(GOOD, "renginiai.txt")


# --- the command line -----------------------------------------------------------------


async def test_cli_imports_events_and_reports_problems(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    good = tmp_path / "renginiai.yaml"
    good.write_text(future_yaml(), encoding="utf-8")
    code, stdout, stderr = await cli(["events", "import", str(good)], database_url, tmp_path)
    assert code == 0, stderr
    first, second = sorted(await db.all(Event), key=lambda e: e.id)
    lines = stdout.splitlines()
    assert lines[0] == "Importuoti 2 renginiai:"
    assert lines[1].startswith(
        f"• Nr. {first.id} „Konsultacija apie seniūnijos biudžetą“ – konsultacija, "
    )
    assert lines[1].endswith("18:00–19:30, Pagėgių sav.; 21 vieta")
    assert lines[2].endswith("10:00–12:00, Pagėgių sav.; vietų skaičius neribotas")
    assert lines[-1] == (
        "Šių savivaldybių gyventojai juos mato skiltyje „Renginiai“ ir gali registruotis. "
        "Pranešimas neišsiųstas."
    )
    assert first.created_by == second.created_by == ADMIN_ID  # the first admin
    assert first.ends_at - first.starts_at == timedelta(minutes=90)

    bad = tmp_path / "blogi.csv"
    bad.write_text(HEADER + ROW.replace("Mokymai", "") + ROW.replace("PAG", "XYZ"), "utf-8")
    code, stdout, stderr = await cli(
        ["events", "import", str(bad), "--created-by", "77"], database_url, tmp_path
    )
    assert code == 2
    assert stdout == ""
    assert stderr.splitlines() == [
        f"{bad}: 2 eilutė: trūksta lauko „title“.",
        f"{bad}: 3 eilutė: nežinomas savivaldybės kodas „XYZ“ (kodai – faile "
        "models/data/municipalities.csv).",
    ]
    assert await db.count(Event) == 2


# --- the bot --------------------------------------------------------------------------


async def test_organizer_sends_a_yaml_file_and_the_events_are_created(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    await send_file(chat, "renginiai.yaml", future_yaml().encode())
    events = sorted(await db.all(Event), key=lambda e: e.id)
    assert [e.created_by for e in events] == [ORGANIZER_ID, ORGANIZER_ID]
    assert [e.kind for e in events] == [EventKind.CONSULTATION, EventKind.SEMINAR]
    assert len(chat.replies) == 1
    text = chat.last_text
    assert text.startswith(
        f"Importuoti 2 renginiai:\n• Nr. {events[0].id} „Konsultacija apie seniūnijos "
        "biudžetą“ – konsultacija, "
    )
    assert "Pranešimas neišsiųstas." in text
    assert await db.count(Poll) == 0


async def test_organizer_sends_a_csv_file_and_invalid_ones_save_nothing(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    day = days_ahead(5)
    row = ROW.replace("2026-12-03", day)
    await send_file(chat, "renginiai.csv", (HEADER + row + row.replace(",30\n", ",0\n")).encode())
    assert chat.reply_texts == [
        "Renginiai neimportuoti: faile rasta 1 klaida.\n\n"
        "• 3 eilutė: vietų skaičius turi būti nuo 1 iki 100000 (neribotam palikite tuščią).\n\n"
        "Nieko neišsaugota. Ištaisykite failą ir atsiųskite jį dar kartą."
    ]
    assert await db.count(Event) == 0

    await send_file(chat, "renginiai.csv", (HEADER + row).encode())
    (event,) = await db.all(Event)
    assert event.starts_at == vilnius(f"{day} 18:00")
    assert chat.last_text.startswith(f"Importuotas 1 renginys:\n• Nr. {event.id} „Mokymai“")
    assert chat.last_text.splitlines()[1].endswith("; 30 vietų")


async def test_residents_are_refused_and_other_documents_get_a_hint(
    harness: BotHarness, db: Database
) -> None:
    resident = harness.chat(5102, "Ona")
    for name in ("renginiai.csv", "renginiai.yaml"):
        await send_file(resident, name, future_yaml().encode())
        assert resident.reply_texts == ["Atsiprašome, tai gali daryti tik organizatoriai."]
    chat = await organizer(harness)
    await send_file(chat, "renginiai.xlsx", b"PK\x03\x04")
    assert len(chat.replies) == 1
    assert "Norėdami importuoti renginius, atsiųskite YAML failą" in chat.last_text
    assert await db.count(Event) == 0
    async with db.sessions() as session:
        assert await session.scalar(select(Event.id)) is None
