"""Attendance, exports and the report, as organizers use them: /attendance with buttons and
typed or scanned check-in codes, /event_export (CSV and XLSX, names only when shared),
/report and ``dalyvauk report`` against the programme's targets, ``dalyvauk events export``.

Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import event_attendance, event_registrations, events
from bot.services.event_attendance import EXPORT_COLUMNS
from bot.services.events import EventSpec
from models import (
    Event,
    EventKind,
    Municipality,
    Registration,
    Resident,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat
from tests.support.residents import add_residents
from tests.test_survey_import import ORGANIZER_ID, cli, organizer

REFUSAL = "Atsiprašome, tai gali daryti tik organizatoriai."


async def municipality_id(sessions: async_sessionmaker[AsyncSession], code: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Municipality.id).where(Municipality.code == code))
    assert found is not None
    return found


async def make_event(
    sessions: async_sessionmaker[AsyncSession], code: str = "PAG", **overrides: Any
) -> Event:
    start = (utcnow() + timedelta(days=7)).replace(second=0, microsecond=0)
    values: dict[str, Any] = {
        "kind": EventKind.TRAINING,
        "title": "Mokymai bendruomenių lyderiams",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "municipality_ids": frozenset({await municipality_id(sessions, code)}),
        "place_address": "Vilniaus g. 9, Pagėgiai",
        "capacity": 30,
    }
    values.update(overrides)
    async with sessions() as session, session.begin():
        return await events.create_event(session, EventSpec(**values), created_by=ORGANIZER_ID)


async def people(
    sessions: async_sessionmaker[AsyncSession], count: int, first: int, code: str = "PAG"
) -> list[Resident]:
    chat_ids = await add_residents(sessions, None, count, first_chat_id=first, municipality=code)
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Resident)
                .where(Resident.external_id.in_([str(c) for c in chat_ids]))
                .order_by(Resident.id)
            )
        )


async def register(
    sessions: async_sessionmaker[AsyncSession], event: Event, resident: Resident, **kwargs: Any
) -> Registration:
    async with sessions() as session, session.begin():
        result = await event_registrations.register(session, event.id, resident, **kwargs)
    assert result.registration is not None
    return result.registration


async def stored(db: Database, registration: Registration) -> Registration:
    (found,) = await db.all(Registration, Registration.id == registration.id)
    return found


@dataclass
class Scene:
    event: Event
    ona: Registration  # shares her name
    jonas: Registration  # does not
    petras: Registration  # shares his
    cancelled: Registration  # Rasa's, cancelled
    elsewhere: Registration  # Ona's registration to another event
    other: Event


async def scene(db: Database) -> Scene:
    sessions = db.sessions
    event = await make_event(sessions, questions=("Kokiai bendruomenei atstovaujate?",))
    other = await make_event(sessions, title="Viešoji diskusija", kind=EventKind.DISCUSSION)
    ona, jonas, petras, rasa = await people(sessions, 4, 300_000)
    (question,) = event.questions
    first = await register(
        sessions,
        event,
        ona,
        share_name=True,
        display_name="Ona Onaitė",
        organization="Bendruomenė „Saulėtekis“",
        answers={question.id: "=Saulėtekis"},
        source="plakatas_biblioteka",
    )
    second = await register(sessions, event, jonas, display_name="Jonas Jonaitis")
    third = await register(sessions, event, petras, share_name=True, display_name="Petras")
    fourth = await register(sessions, event, rasa, share_name=True, display_name="Rasa")
    async with sessions() as session, session.begin():
        await event_registrations.cancel_registration(session, fourth.id, resident=rasa)
    elsewhere = await register(sessions, other, ona)
    return Scene(event, first, second, third, fourth, elsewhere, other)


def labels(chat: Chat) -> list[str]:
    return [button["text"] for button in chat.last.inline_buttons()]


# --- the attendance list --------------------------------------------------------------


async def test_organizer_marks_attendance_with_the_buttons(
    harness: BotHarness, db: Database
) -> None:
    s = await scene(db)
    chat = await organizer(harness)
    await chat.send(f"/attendance {s.event.id}")
    text = chat.last_text
    assert text.startswith(f"Dalyvavimas – „Mokymai bendruomenių lyderiams“ (Nr. {s.event.id})\n")
    assert "Atvyko: 0 iš 3." in text
    petras = s.petras
    assert labels(chat) == [
        f"{s.ona.checkin_code} · Ona Onaitė",
        f"{petras.checkin_code} · Petras",
        f"{s.jonas.checkin_code} · dalyvis Nr. {s.jonas.id}",  # no name without consent
        "Baigti",
    ]

    await chat.click(s.jonas.checkin_code)
    assert chat.callback_answer() is not None
    assert chat.callback_answer()["text"] == "✓ Pažymėta: atvyko."
    assert f"✓ {s.jonas.checkin_code} · dalyvis Nr. {s.jonas.id}" in labels(chat)
    assert "Atvyko: 1 iš 3." in chat.last_text
    marked = await stored(db, s.jonas)
    assert marked.attended_at is not None
    assert marked.marked_by == ORGANIZER_ID

    await chat.click(f"✓ {s.jonas.checkin_code}")  # a second press undoes the mark
    assert chat.callback_answer()["text"] == "Žyma panaikinta."
    assert (await stored(db, s.jonas)).attended_at is None
    assert f"{s.jonas.checkin_code} · dalyvis Nr. {s.jonas.id}" in labels(chat)

    # A stale button (already marked by a code meanwhile) marks once.
    button = chat.last
    data = button.button_data(s.ona.checkin_code)
    await chat.click(s.ona.checkin_code, button)
    first_mark = (await stored(db, s.ona)).attended_at
    await chat.press(button.message_id, data)
    assert chat.callback_answer()["text"] == "Jau atlikta."
    assert (await stored(db, s.ona)).attended_at == first_mark

    await chat.click("Baigti")
    assert chat.last_text == (
        f"Renginys „Mokymai bendruomenių lyderiams“ (Nr. {s.event.id}): atvyko 1 iš 3. "
        f"Norėdami žymėti toliau, siųskite /attendance {s.event.id}."
    )
    assert chat.last.inline_buttons() == []
    await chat.send(petras.checkin_code)  # the screen is closed: not a code any more
    assert (await stored(db, petras)).attended_at is None


async def test_typed_and_scanned_codes_and_the_wrong_ones(
    harness: BotHarness, db: Database
) -> None:
    s = await scene(db)
    chat = await organizer(harness)
    await chat.send(f"/attendance {s.event.id}")
    screen = chat.last
    code = s.ona.checkin_code

    await chat.send(f" {code[:3].lower()}-{code[3:].lower()} ")
    assert chat.reply_texts == [f"✓ Kodas {code}: Ona Onaitė atvyko."]
    marked = await stored(db, s.ona)
    assert marked.attended_at is not None and marked.marked_by == ORGANIZER_ID
    assert f"✓ {code} · Ona Onaitė" in [b["text"] for b in screen.inline_buttons()]

    await chat.send(code)
    assert chat.reply_texts[0].startswith(f"Kodas {code} (Ona Onaitė) jau pažymėtas ")

    scanned = f"https://t.me/dalyvauk_bot?start=chk_{s.jonas.checkin_code}"
    await chat.send(scanned)
    assert chat.reply_texts == [f"✓ Kodas {s.jonas.checkin_code}: dalyvis Nr. {s.jonas.id} atvyko."]

    await chat.send("ZZZZZZ")
    assert chat.reply_texts == ["Registracijos su kodu ZZZZZZ nėra. Patikrinkite kodą."]
    await chat.send(s.elsewhere.checkin_code)
    assert chat.reply_texts == [
        f"Kodas {s.elsewhere.checkin_code} – kito renginio registracija: "
        f"„Viešoji diskusija“ (Nr. {s.other.id})."
    ]
    await chat.send(s.cancelled.checkin_code)
    assert chat.reply_texts == [
        f"Kodas {s.cancelled.checkin_code}: ši registracija atšaukta, todėl vietos nėra."
    ]
    assert (await stored(db, s.elsewhere)).attended_at is None
    assert (await stored(db, s.cancelled)).attended_at is None
    assert "Atvyko: 2 iš 3." in screen.text

    await chat.send("/cancel")
    assert chat.reply_texts == ["Dalyvavimo žymėjimas baigtas."]


async def test_a_waitlisted_code_and_a_cancelled_event(harness: BotHarness, db: Database) -> None:
    event = await make_event(db.sessions, capacity=1)
    first, second = await people(db.sessions, 2, 310_000)
    await register(db.sessions, event, first)
    waiting = await register(db.sessions, event, second)
    chat = await organizer(harness)
    await chat.send(f"/attendance {event.id}")
    await chat.send(waiting.checkin_code)
    assert chat.reply_texts == [
        f"Kodas {waiting.checkin_code} priklauso žmogui iš laukiančiųjų sąrašo: "
        "vietos jis dar neturi."
    ]
    async with db.sessions() as session, session.begin():
        await events.cancel_event(session, event.id, by=ORGANIZER_ID)
    await chat.click("dalyvis Nr.")
    assert chat.callback_answer()["text"] == ("Šis renginys atšauktas: dalyvavimo žymėti negalima.")
    assert await db.count(Registration, Registration.attended_at.is_not(None)) == 0


async def test_long_lists_have_pages(harness: BotHarness, db: Database) -> None:
    event = await make_event(db.sessions, capacity=None)
    for resident in await people(db.sessions, 35, 320_000):
        await register(db.sessions, event, resident)
    chat = await organizer(harness)
    await chat.send(f"/attendance {event.id}")
    assert "1 puslapis iš 2." in chat.last_text
    assert len(labels(chat)) == 30 + 2 + 1  # a page, ◀ ▶, Baigti
    await chat.click("Toliau ▶")
    assert "2 puslapis iš 2." in chat.last_text
    assert len(labels(chat)) == 5 + 2 + 1
    last = labels(chat)[4]
    await chat.click(last)
    assert labels(chat)[4] == f"✓ {last}"  # still on the second page
    assert await db.count(Registration, Registration.attended_at.is_not(None)) == 1


async def test_residents_are_refused_and_numbers_are_checked(
    harness: BotHarness, db: Database
) -> None:
    s = await scene(db)
    resident = harness.chat(300_000, "Ona")
    for command in ("/attendance", "/event_export", "/report"):
        await resident.send(f"{command} {s.event.id}")
        assert resident.reply_texts == [REFUSAL]
    chat = await organizer(harness)
    await chat.send(f"/attendance {s.event.id}")
    data = chat.last.button_data(s.jonas.checkin_code)
    await resident.press(resident.last.message_id, data)  # forged by a resident
    assert resident.callback_answer() is not None
    assert resident.callback_answer()["text"] == REFUSAL
    assert (await stored(db, s.jonas)).attended_at is None

    await chat.send("/attendance")
    assert chat.reply_texts == ["Nurodykite renginio numerį, pavyzdžiui: /attendance 12"]
    await chat.send("/event_export 999999")
    assert chat.reply_texts == ["Renginio Nr. 999999 nėra. Patikrinkite numerį."]
    await chat.send("/report vakar")
    assert chat.reply_texts[0].startswith("Nesupratau datų.")


# --- exports ----------------------------------------------------------------------------


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes) -> list[list[str]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = workbook.worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def check_export(rows: list[list[str]], s: Scene, *, csv_format: bool) -> None:
    assert rows[0] == [*EXPORT_COLUMNS, "Kokiai bendruomenei atstovaujate?"]
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert list(by_id) == [str(r.id) for r in (s.ona, s.jonas, s.petras, s.cancelled)]
    ona = by_id[str(s.ona.id)]
    assert ona["name"] == "Ona Onaitė"
    assert ona["status"] == "registered"
    assert ona["municipality"] == "PAG"
    assert ona["organization"] == "Bendruomenė „Saulėtekis“"
    assert ona["source"] == "plakatas_biblioteka"
    assert ona["checkin_code"] == s.ona.checkin_code
    assert ona["attended_at"].endswith("Z")
    # A resident's answer that starts with "=" is never a formula.
    assert ona["Kokiai bendruomenei atstovaujate?"] == (
        "'=Saulėtekis" if csv_format else "=Saulėtekis"
    )
    assert by_id[str(s.jonas.id)]["name"] == ""  # did not agree to share it
    assert by_id[str(s.jonas.id)]["attended_at"] == ""
    assert by_id[str(s.cancelled.id)]["status"] == "cancelled"
    assert by_id[str(s.cancelled.id)]["name"] == "Rasa"


async def mark(db: Database, event: Event, registration: Registration) -> None:
    async with db.sessions() as session, session.begin():
        result = await event_attendance.mark_attended(
            session, event.id, registration.checkin_code, by=ORGANIZER_ID
        )
    assert result.ok


async def test_organizer_exports_registrations_as_csv_and_xlsx(
    harness: BotHarness, db: Database
) -> None:
    s = await scene(db)
    await mark(db, s.event, s.ona)
    chat = await organizer(harness)
    await chat.send(f"/event_export {s.event.id}")
    documents = chat.replies
    assert [m.document_name for m in documents] == [
        f"renginys_{s.event.id}_registracijos.csv",
        f"renginys_{s.event.id}_registracijos.xlsx",
    ]
    assert documents[0].text == (
        f"Registracijos į renginį „Mokymai bendruomenių lyderiams“ (Nr. {s.event.id}): "
        "4 eilutės. Vardai nurodyti tik tų gyventojų, kurie sutiko juos pateikti."
    )
    csv_bytes, xlsx_bytes = (m.document_bytes or b"" for m in documents)
    check_export(read_csv(csv_bytes), s, csv_format=True)
    check_export(read_xlsx(xlsx_bytes), s, csv_format=False)
    for data in (csv_bytes, xlsx_bytes):
        assert b"Jonaitis" not in data


async def test_cli_exports_an_event(database_url: str, db: Database, tmp_path: Path) -> None:
    s = await scene(db)
    await mark(db, s.event, s.ona)
    target = tmp_path / "sarasas.xlsx"
    code, out, err = await cli(
        ["events", "export", str(s.event.id), "--format", "xlsx", "-o", str(target)],
        database_url,
        tmp_path,
    )
    assert code == 0, err
    assert out.strip() == f"Wrote 4 registrations of event {s.event.id} to {target}."
    check_export(read_xlsx(target.read_bytes()), s, csv_format=False)

    code, out, err = await cli(["events", "export", str(s.event.id)], database_url, tmp_path)
    assert code == 0, err
    written = tmp_path / f"renginys_{s.event.id}_registracijos.csv"
    check_export(read_csv(written.read_bytes()), s, csv_format=True)

    code, _out, err = await cli(["events", "export", "999999"], database_url, tmp_path)
    assert code == 1
    assert err.strip() == "There is no event 999999."


# --- the report ---------------------------------------------------------------------------


async def report_scene(db: Database) -> datetime:
    """Trainings in PAG (4 registrations by 3 people, 3 came), a discussion in PAG and KLP
    (one of each, the KLP one came), a focus group in KLP (nobody came), a cancelled event;
    returns the first event's start."""
    sessions = db.sessions
    klp = await municipality_id(sessions, "KLP")
    training = await make_event(sessions)
    later = training.starts_at + timedelta(days=40)
    second = await make_event(sessions, starts_at=later, ends_at=later + timedelta(hours=2))
    discussion = await make_event(
        sessions,
        kind=EventKind.DISCUSSION,
        municipality_ids=frozenset({await municipality_id(sessions, "PAG"), klp}),
    )
    focus = await make_event(sessions, "KLP", kind=EventKind.FOCUS_GROUP)
    cancelled = await make_event(sessions)
    in_pag = await people(sessions, 3, 330_000)
    in_klp = await people(sessions, 2, 340_000, "KLP")
    for resident in in_pag:
        await register(sessions, training, resident)
        await register(sessions, cancelled, resident)
    await register(sessions, second, in_pag[0])
    await register(sessions, discussion, in_pag[1])
    await register(sessions, discussion, in_klp[0])
    await register(sessions, focus, in_klp[1])
    async with sessions() as session, session.begin():
        await events.cancel_event(session, cancelled.id, by=ORGANIZER_ID)
    for event, resident in [
        (training, in_pag[0]),
        (training, in_pag[1]),
        (second, in_pag[0]),
        (discussion, in_klp[0]),
    ]:
        async with sessions() as session:
            found = await session.scalar(
                select(Registration).where(
                    Registration.event_id == event.id, Registration.resident_id == resident.id
                )
            )
        assert found is not None
        await mark(db, event, found)
    return training.starts_at


REPORT_BODY = [
    "Užsiregistravo: 7 registracijos; atvyko: 4 dalyviai (57,1 %).",
    "",
    "Mokymai",
    "• Pagėgių savivaldybė: 4 registracijos; atvyko: 3 dalyviai (75 %)",
    "",
    "Viešoji diskusija",
    "• Klaipėdos miesto savivaldybė: 1 registracija; atvyko: 1 dalyvis (100 %)",
    "• Pagėgių savivaldybė: 1 registracija; atvyko: 0 dalyvių (0 %)",
    "",
    "Fokus grupė",
    "• Klaipėdos miesto savivaldybė: 1 registracija; atvyko: 0 dalyvių (0 %)",
    "",
    "Programos tikslai (atvykę žmonės, kiekvienas skaičiuojamas vieną kartą)",
    "• Apmokyti (mokymai): 2 dalyviai iš 300 (0,7 %); užsiregistravo: 3",
    "• Viešosios diskusijos ir fokus grupės: 1 dalyvis iš 450 (0,2 %); užsiregistravo: 3",
    "• Darbinis vizitas: 0 dalyvių iš 33 (0 %); užsiregistravo: 0",
]


def plain(text: str) -> list[str]:
    return text.replace("\u00a0", " ").splitlines()


async def test_report_in_the_chat(harness: BotHarness, db: Database) -> None:
    await report_scene(db)
    chat = await organizer(harness)
    await chat.send("/report")
    assert plain(chat.last_text) == ["Renginių ataskaita", "Visi renginiai.", "", *REPORT_BODY]


async def test_cli_report_for_a_period(database_url: str, db: Database, tmp_path: Path) -> None:
    first_start = await report_scene(db)
    since = f"{first_start - timedelta(days=1):%Y-%m-%d}"
    until = f"{first_start + timedelta(days=1):%Y-%m-%d}"
    code, out, err = await cli(["report"], database_url, tmp_path)
    assert code == 0, err
    assert plain(out)[3:] == REPORT_BODY
    code, out, err = await cli(
        ["report", "--since", since, "--until", until], database_url, tmp_path
    )
    assert code == 0, err
    lines = plain(out)
    assert lines[1].startswith("Renginiai nuo ") and " iki " in lines[1]
    # The second training starts 40 days later: outside the period.
    assert lines[3] == "Užsiregistravo: 6 registracijos; atvyko: 3 dalyviai (50 %)."
    assert "• Pagėgių savivaldybė: 3 registracijos; atvyko: 2 dalyviai (66,7 %)" in lines
    code, _out, err = await cli(["report", "--since", "vakar"], database_url, tmp_path)
    assert code == 2
    assert "--since" in err


@pytest.mark.parametrize("words", [["2026-01-01"], ["2026-01-01", "2026-12-31"]])
def test_report_periods_are_lithuanian_days(words: list[str]) -> None:
    from zoneinfo import ZoneInfo

    from bot.channels.telegram.event_reports import report_period

    since, until = report_period(*words, tz=ZoneInfo("Europe/Vilnius"))
    assert since is not None and since.isoformat() == "2025-12-31T22:00:00+00:00"
    if len(words) > 1:
        assert until is not None and until.isoformat() == "2026-12-31T22:00:00+00:00"


async def test_report_targets_come_from_the_settings(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    await report_scene(db)
    (tmp_path / ".env").write_text("EVENT_TARGETS=trained=30,discussions=0\n")
    code, out, err = await cli(["report"], database_url, tmp_path)
    assert code == 0, err
    lines = plain(out)
    assert "• Apmokyti (mokymai): 2 dalyviai iš 30 (6,7 %); užsiregistravo: 3" in lines
    assert not [line for line in lines if line.startswith("• Viešosios diskusijos")]
    assert not [line for line in lines if line.startswith("• Darbinis vizitas")]  # not listed
