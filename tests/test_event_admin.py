"""Organizers create events in the chat (/newevent), publish them to the right residents
with a Registruotis link and a QR poster, tag poster links (/event_link), list their events
(/events), change an event's time or place and cancel it — registered and waiting
residents are told through the delivery engine.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.channels.telegram.event_callbacks import EventManageCb, ManageAction
from bot.channels.telegram.qr import qr_png
from bot.localapi.server import LocalBotAPI
from bot.services import event_registrations, events
from bot.services.audiences import Audience
from bot.services.events import EventSpec
from models import (
    AgeGroup,
    Broadcast,
    BroadcastStatus,
    Event,
    EventKind,
    EventStatus,
    MessageCategory,
    Municipality,
    Registration,
    RegistrationStatus,
    Resident,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat, Mode, harness_settings
from tests.support.residents import add_residents
from tests.test_announcements import (
    FAST,
    NO_QUIET_HOURS,
    ORGANIZER_ID,
    STALE,
    choose_municipality,
    organizer,
)

VILNIUS = ZoneInfo("Europe/Vilnius")
REFUSAL = "Atsiprašome, tai gali daryti tik organizatoriai."
BOT = "dalyvauk_test_bot"
KINDS = [
    "Konsultacija",
    "Mokymai",
    "Viešoji diskusija",
    "Fokus grupė",
    "Darbinis vizitas",
    "Seminaras",
]


@pytest.fixture
async def harness(
    database_url: str, local_api: LocalBotAPI, mode: Mode
) -> AsyncIterator[BotHarness]:
    """The bot with quiet hours off (tests run at any hour) and fast delivery."""
    settings = harness_settings(database_url, local_api, mode, delivery=FAST, **NO_QUIET_HOURS)
    bot_harness = BotHarness(
        local_api, settings, mode=mode, webhook_port=settings.webhook.listen_port
    )
    await bot_harness.start()
    yield bot_harness
    await bot_harness.stop()


def local(moment: datetime) -> str:
    return moment.astimezone(VILNIUS).strftime("%Y-%m-%d %H:%M")


def in_days(days: int, hour: int) -> datetime:
    """``hour`` o'clock Vilnius time ``days`` days from now."""
    day = (utcnow() + timedelta(days=days)).astimezone(VILNIUS)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)


def texts_received(harness: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in harness.api.bot_messages(chat_id)]


async def wait_delivered(db: Database) -> None:
    """Until every broadcast has been sent and recorded."""
    for _ in range(300):
        done = [b.status is BroadcastStatus.DONE for b in await db.all(Broadcast)]
        if done and all(done):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the broadcasts were not all recorded as sent")


def alert(chat: Chat) -> str:
    answer = chat.callback_answer()
    assert answer is not None
    return str(answer.get("text", ""))


async def start_event(chat: Chat, kind: str, title: str) -> None:
    await chat.send("/newevent")
    assert chat.last_text.startswith("Naujas renginys\nKoks tai renginys?")
    assert chat.last.button_texts() == KINDS
    await chat.click(kind)
    assert chat.last_text == "Parašykite renginio pavadinimą, iki 200 simbolių."
    await chat.send(title)
    assert chat.last_text.startswith("Parašykite trumpą aprašymą")


async def through_to_start(
    chat: Chat, kind: str, title: str, municipality: str = "Pagėgių sav."
) -> None:
    """Kind, title, no description, one municipality, an address without a map point:
    the question about the start is the last message."""
    await start_event(chat, kind, title)
    await chat.click("Be aprašymo")
    await choose_municipality(chat, municipality)
    await chat.click("Toliau")
    assert chat.last_text.startswith("Kur tiksliai?")
    await chat.send("Vilniaus g. 5, Pagėgiai")
    await chat.click("Be taško žemėlapyje")
    assert chat.last_text.startswith("Kada renginys prasideda?")


async def finish_simply(chat: Chat, start: datetime) -> None:
    """From the start: 2 hours, 20 places, registration until the start, no questions,
    no quota, all residents, publish."""
    await chat.send(local(start))
    await chat.send(local(start + timedelta(hours=2)))
    await chat.send("20")
    await chat.click("Iki pradžios")
    await chat.click("Be klausimų")
    await chat.click("Neriboti")
    await chat.click("Visiems gyventojams")
    assert chat.last_text.startswith("Patikrinkite renginį")
    await chat.click("Paskelbti")


async def municipality_ids(db: Database, *codes: str) -> list[int]:
    async with db.sessions() as session:
        rows = await session.scalars(select(Municipality.id).where(Municipality.code.in_(codes)))
        return sorted(rows)


async def add_event(
    db: Database,
    *,
    created_by: int = ORGANIZER_ID,
    capacity: int | None = 2,
    start: datetime | None = None,
    title: str = "Bendruomenės susirinkimas",
) -> int:
    start = start or in_days(10, 18)
    spec = EventSpec(
        kind=EventKind.DISCUSSION,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        municipality_ids=frozenset(await municipality_ids(db, "PAG")),
        place_address="Vilniaus g. 5, Pagėgiai",
        capacity=capacity,
    )
    async with db.sessions() as session, session.begin():
        event = await events.create_event(session, spec, created_by=created_by)
        return event.id


async def register(db: Database, event_id: int, chat_ids: list[int]) -> None:
    for chat_id in chat_ids:
        async with db.sessions() as session, session.begin():
            resident = await session.scalar(
                select(Resident).where(Resident.external_id == str(chat_id))
            )
            assert resident is not None
            await event_registrations.register(session, event_id, resident)


# -- creating ---------------------------------------------------------------------------


async def test_creating_an_event_explains_every_mistake_and_publishes_to_its_residents(
    harness: BotHarness, db: Database
) -> None:
    api = harness.api
    pag = await add_residents(db.sessions, api, 2, first_chat_id=100_000)
    birzai = await add_residents(db.sessions, api, 1, municipality="BRZ", first_chat_id=100_010)
    zarasai = await add_residents(db.sessions, api, 1, municipality="ZAR", first_chat_id=100_020)
    no_events = await add_residents(db.sessions, api, 1, first_chat_id=100_030, wants_events=False)
    chat = await organizer(harness)

    await chat.send("/newevent")
    await chat.click("Konsultacija")
    await chat.send("P" * 201)
    assert chat.last_text == "Pavadinimas gali būti iki 200 simbolių. Parašykite trumpesnį."
    await chat.send("Konsultacija dėl   parko")
    assert chat.last_text.startswith("Parašykite trumpą aprašymą")
    await chat.send("A" * 3001)
    assert chat.last_text == "Aprašymas gali būti iki 3\xa0000 simbolių. Parašykite trumpesnį."
    await chat.send("Aptarsime parko <sutvarkymo> planą.")
    assert chat.last_text.startswith("Kur vyks renginys?")
    assert chat.last_text.endswith("Pasirinkta: dar nėra")
    await chat.click("Toliau")
    assert alert(chat) == "Pasirinkite bent vieną savivaldybę, kurioje vyks renginys."
    await choose_municipality(chat, "Pagėgių sav.")
    await choose_municipality(chat, "Biržų r.")
    assert chat.last_text.endswith("Pasirinkta: Biržų r., Pagėgių sav.")
    await chat.click("Toliau")

    await chat.send("A" * 301)
    assert chat.last_text == "Adresas gali būti iki 300 simbolių. Parašykite trumpesnį."
    await chat.send("Vilniaus g. 5, Pagėgiai")
    assert chat.last_text.startswith("Pridėti tašką žemėlapyje?")
    await chat.send("95.1, 21.9")
    assert chat.last_text.startswith("Šis taškas netinkamas")
    await chat._act(await api.send_location(ORGANIZER_ID, 55.1358, 21.9094))
    assert chat.reply_texts[0] == "Taškas žemėlapyje pridėtas."
    assert chat.last_text.startswith("Kada renginys prasideda?")

    await chat.send("rytoj vakare")
    assert chat.last_text.startswith("Nesupratau šios datos ir laiko.")
    await chat.send("2020-01-01 18:00")
    assert chat.last_text.startswith("Šis laikas jau praėjo. Parašykite būsimą laiką, pvz., 20")
    start = in_days(10, 18)
    await chat.send(local(start))
    assert chat.last_text.startswith("Prasideda: ")
    await chat.send("17:00")
    assert chat.last_text == (
        f"Renginys turi baigtis vėliau, nei prasideda ({local(start)}). Parašykite vėlesnį "
        f"laiką, pvz., {local(start + timedelta(hours=2))}"
    )
    await chat.send("20:00")
    assert chat.last_text.startswith("Kiek yra vietų?")
    await chat.send("daug")
    assert chat.last_text == "Parašykite vietų skaičių, pvz., 30, arba „neribota“."
    await chat.send("0")
    assert chat.last_text.startswith("Vietų skaičius turi būti nuo 1 iki 100\xa0000.")
    await chat.send("30")
    assert chat.last_text.startswith("Iki kada galima registruotis?")
    await chat.send(local(start + timedelta(hours=1)))
    assert chat.last_text.startswith("Registracija turi baigtis ne vėliau, nei prasideda")
    deadline = start - timedelta(days=1)
    await chat.send(local(deadline))
    assert chat.last_text.startswith("Registracijos klausimai (neprivaloma)")

    await chat.send("K" * 301)
    assert chat.last_text == "Klausimas gali būti iki 300 simbolių. Parašykite trumpesnį."
    questions = [f"Klausimas {n}?" for n in range(1, 6)]
    for question in questions:
        await chat.send(question)
    assert chat.last_text.endswith("Daugiau klausimų renginys turėti negali. Paspauskite „Baigti“.")
    await chat.send("Šeštas?")
    assert chat.last_text.startswith("Renginys gali turėti ne daugiau kaip 5 registracijos")
    await chat.click("Baigti")
    assert chat.last_text.startswith("Vietos vienai organizacijai")
    await chat.send("0")
    assert chat.last_text == "Vienai organizacijai turi būti bent 1 vieta. Parašykite skaičių."
    await chat.send("3")
    assert chat.last_text.startswith("Kam siųsti kvietimą į renginį?")
    assert "Kvietimą gaus 3 gyventojai renginio savivaldybėse." in chat.last_text

    await chat.click("Pasirinkti savivaldybes")
    await choose_municipality(chat, "Zarasų r.")
    await chat.click("Toliau")
    await chat.click("Toliau")
    assert alert(chat).startswith("Kai kurios pasirinktos savivaldybės nėra renginio")
    assert await db.count(Event) == 0
    await chat.click("Visiems gyventojams")
    summary = chat.last_text
    assert summary.startswith("Patikrinkite renginį\n\n„Konsultacija dėl parko“ – konsultacija")
    assert "Aptarsime parko <sutvarkymo> planą." in summary
    assert "Savivaldybės: Biržų r., Pagėgių sav." in summary
    assert "Kur: Vilniaus g. 5, Pagėgiai – žemėlapyje" in summary
    assert "Vietų: 30 vietų" in summary
    assert "Vietų vienai organizacijai: 3" in summary
    assert "Registracijos klausimai:\n1. Klausimas 1?" in summary
    assert chat.last.button_texts() == ["Paskelbti", "Atšaukti"]
    confirm, publish = chat.last, chat.last.button_data("Paskelbti")
    await chat.click("Paskelbti")

    [event] = await db.all(Event)
    assert (event.kind, event.title, event.capacity) == (
        EventKind.CONSULTATION,
        "Konsultacija dėl parko",
        30,
    )
    assert event.description == "Aptarsime parko <sutvarkymo> planą."
    assert (event.latitude, event.longitude) == (55.1358, 21.9094)
    assert (event.starts_at, event.ends_at) == (start, start + timedelta(hours=2))
    assert event.registration_deadline == deadline
    assert event.per_organization_quota == 3
    assert event.created_by == ORGANIZER_ID
    places = frozenset(await municipality_ids(db, "PAG", "BRZ"))
    async with db.sessions() as session:
        stored = await events.get_event(session, event.id)
        assert stored is not None
        assert [q.text for q in stored.questions] == questions
        assert stored.municipality_ids == places

    url = f"https://t.me/{BOT}?start=evt_{event.id}"
    published = chat.replies[-2].text
    assert published.startswith(f"Renginys paskelbtas (Nr. {event.id}). Kvietimą gaus 3 ")
    assert f"Registracijos nuoroda: {url}" in published
    poster = chat.last
    assert poster.kind == "photo"
    assert poster.photo_bytes == qr_png(url)
    assert poster.text == f"Renginio „Konsultacija dėl parko“ QR kodas plakatams: {url}"

    await wait_delivered(db)
    [broadcast] = await db.all(Broadcast)
    assert broadcast.category is MessageCategory.EVENT
    assert (broadcast.button_text, broadcast.button_url) == ("Registruotis", url)
    for chat_id in pag + birzai:
        [invitation] = api.bot_messages(chat_id)
        assert invitation.text.startswith(
            "Naujas renginys – konsultacija\n\n„Konsultacija dėl parko“"
        )
        assert "📍 Vilniaus g. 5, Pagėgiai – žemėlapyje" in invitation.text
        assert "Vietų: 30 vietų" in invitation.text
        assert invitation.button_texts() == ["Registruotis"]
        assert invitation.inline_buttons()[0]["url"] == url
    for chat_id in zarasai + no_events:
        assert texts_received(harness, chat_id) == []

    await chat.press(confirm.message_id, publish)  # a double tap
    assert alert(chat) == STALE
    assert await db.count(Event) == 1


async def test_an_online_event_with_unlimited_places_for_one_age_group(
    harness: BotHarness, db: Database
) -> None:
    api = harness.api
    young = await add_residents(db.sessions, api, 1, first_chat_id=100_000)
    older = await add_residents(
        db.sessions, api, 1, first_chat_id=100_010, age_group=AgeGroup.AGE_65_PLUS
    )
    chat = await organizer(harness)
    await start_event(chat, "Mokymai", "Skaitmeninio raštingumo mokymai")
    await chat.click("Be aprašymo")
    await choose_municipality(chat, "Pagėgių sav.")
    await chat.click("Toliau")
    await chat.click("Renginys nuotoliu")
    assert chat.last_text.startswith("Atsiųskite nuorodą, kuria gyventojai prisijungs")
    await chat.send("meet.example.lt/mokymai")
    assert chat.last_text.startswith("Tai nepanašu į nuorodą.")
    await chat.send("https://meet.example.lt/mokymai")
    assert chat.last_text.startswith("Kada renginys prasideda?")
    start = in_days(5, 10)
    await chat.send(local(start))
    await chat.send(local(start + timedelta(days=1, hours=2)))
    await chat.click("Neribota")
    assert chat.last_text.startswith("Iki kada galima registruotis?")
    await chat.click("Iki pradžios")
    await chat.click("Be klausimų")
    await chat.click("Neriboti")
    await chat.click("Pasirinkti amžiaus grupes")
    await chat.click("65")
    assert "Kvietimą gaus 1 gyventojas renginio savivaldybėse." in chat.last_text
    await chat.click("Toliau")
    await chat.click("Toliau")
    summary = chat.last_text
    assert "Kur: nuotoliu: https://meet.example.lt/mokymai" in summary
    assert "Vietų: neribota" in summary
    assert "Registracija iki: renginio pradžios" in summary
    await chat.click("Paskelbti")

    [event] = await db.all(Event)
    assert event.online_url == "https://meet.example.lt/mokymai"
    assert event.place_address is None and event.capacity is None
    assert event.registration_deadline is None and event.per_organization_quota is None
    assert event.ends_at == start + timedelta(days=1, hours=2)
    assert event.audience == Audience(age_groups=frozenset({AgeGroup.AGE_65_PLUS})).to_json()
    await wait_delivered(db)
    assert texts_received(harness, young[0]) == []
    [invitation] = texts_received(harness, older[0])
    assert invitation.startswith("Naujas renginys – mokymai")


async def test_a_restart_in_the_middle_keeps_the_draft_and_cancel_stops(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    await through_to_start(chat, "Seminaras", "Seminaras apie biudžetą")
    await harness.restart()
    chat = harness.chat(ORGANIZER_ID, "Tomas")
    await finish_simply(chat, in_days(3, 17))
    [event] = await db.all(Event)
    assert (event.title, event.kind, event.place_address) == (
        "Seminaras apie biudžetą",
        EventKind.SEMINAR,
        "Vilniaus g. 5, Pagėgiai",
    )

    await through_to_start(chat, "Fokus grupė", "Nebus")
    await chat.send("/cancel")
    assert chat.last_text == "Renginys atmestas. Niekas nepaskelbta."
    await chat.send("2026-12-24 18:00")
    assert await db.count(Event) == 1


async def test_residents_are_refused_and_other_organizers_buttons_change_nothing(
    harness: BotHarness, db: Database
) -> None:
    [resident_id] = await add_residents(db.sessions, harness.api, 1, first_chat_id=100_000)
    resident = harness.chat(resident_id, "Ona")
    await resident.send("/newevent")
    assert resident.last_text == REFUSAL
    await resident.send("/event_link 1 plakatas")
    assert resident.last_text == REFUSAL

    await organizer(harness)
    event_id = await add_event(db, created_by=777)
    chat = harness.chat(ORGANIZER_ID, "Tomas")
    await chat.send("/events")
    assert chat.last_text == "Renginių dar neturite. Norėdami sukurti, siųskite /newevent."
    for action in (ManageAction.CANCEL_CONFIRM, ManageAction.TIME, ManageAction.EDIT):
        data = EventManageCb(event=event_id, action=action).pack()
        await chat.press(chat.last.message_id, data)
        assert alert(chat) == f"Renginio Nr. {event_id} nėra. Patikrinkite numerį."
    [event] = await db.all(Event)
    assert event.status is EventStatus.PUBLISHED
    assert await db.count(Broadcast) == 0


# -- links and posters ------------------------------------------------------------------


async def test_event_link_gives_a_tagged_link_and_its_qr_poster(
    harness: BotHarness, db: Database
) -> None:
    chat = await organizer(harness)
    event_id = await add_event(db)
    await chat.send("/event_link")
    assert chat.last_text.startswith("Nurodykite renginio numerį ir žymą")
    await chat.send(f"/event_link {event_id} plakatas!")
    assert chat.last_text.startswith("Žymoje gali būti tik lotyniškos raidės")
    await chat.send("/event_link 999999 plakatas")
    assert chat.last_text == "Renginio Nr. 999999 nėra. Patikrinkite numerį."

    await chat.send(f"/event_link {event_id} biblioteka-1")
    url = f"https://t.me/{BOT}?start=evt_{event_id}_biblioteka-1"
    text, poster = chat.replies
    assert text.text.startswith(
        f"Nuoroda į renginį „Bendruomenės susirinkimas“ su žyma biblioteka-1:\n{url}"
    )
    assert poster.kind == "photo" and poster.photo_bytes == qr_png(url)
    assert poster.text == (
        f"Renginio „Bendruomenės susirinkimas“ QR kodas plakatams (žyma biblioteka-1): {url}"
    )

    async with db.sessions() as session, session.begin():
        await events.cancel_event(session, event_id, by=ORGANIZER_ID)
    await chat.send(f"/event_link {event_id} biblioteka-1")
    assert chat.reply_texts == [f"Renginys Nr. {event_id} atšauktas."]


# -- the organizer's events -------------------------------------------------------------


async def test_events_list_shows_registered_waiting_and_attended(
    harness: BotHarness, db: Database
) -> None:
    residents_ = await add_residents(db.sessions, harness.api, 3, first_chat_id=100_000)
    chat = await organizer(harness)
    event_id = await add_event(db, capacity=2)
    unlimited_id = await add_event(db, capacity=None, title="Atvira diskusija")
    await add_event(db, created_by=777, title="Svetimas renginys")
    await register(db, event_id, residents_)
    async with db.sessions() as session, session.begin():
        first = await session.scalar(
            select(Registration.id)
            .where(Registration.status == RegistrationStatus.REGISTERED)
            .order_by(Registration.id)
            .limit(1)
        )
        await session.execute(
            update(Registration).where(Registration.id == first).values(attended_at=utcnow())
        )

    await chat.send("/events")
    text = chat.last_text
    assert text.startswith("Jūsų renginiai\n\n1. „Bendruomenės susirinkimas“ – viešoji diskusija")
    assert f"(Nr. {event_id})" in text and f"(Nr. {unlimited_id})" in text
    assert "Užsiregistravo: 2 iš 2 · laukia: 1 · atvyko: 1" in text
    assert "Užsiregistravo: 0 (vietų neribota) · laukia: 0 · atvyko: 0" in text
    assert "– artėja" in text
    assert "Svetimas renginys" not in text
    assert chat.last.button_texts() == [
        "1. Keisti laiką/vietą",
        "1. Atšaukti renginį",
        "2. Keisti laiką/vietą",
        "2. Atšaukti renginį",
    ]


async def test_changing_the_time_tells_registered_and_waiting_residents(
    harness: BotHarness, db: Database
) -> None:
    first, *registered = await add_residents(db.sessions, harness.api, 4, first_chat_id=100_000)
    bystander = await add_residents(db.sessions, harness.api, 1, first_chat_id=100_010)
    chat = await organizer(harness)
    old_start = in_days(10, 18)
    event_id = await add_event(db, capacity=2, start=old_start)
    await register(db, event_id, [first, *registered])  # two registered, two waiting
    async with db.sessions() as session, session.begin():
        resident = await session.scalar(select(Resident).where(Resident.external_id == str(first)))
        await event_registrations.cancel_registration(session, event_id=event_id, resident=resident)
    statuses = sorted(r.status for r in await db.all(Registration))
    assert statuses == sorted(
        [
            RegistrationStatus.CANCELLED,
            RegistrationStatus.REGISTERED,
            RegistrationStatus.OFFERED,
            RegistrationStatus.WAITLISTED,
        ]
    )

    await chat.send("/events")
    await chat.click("1. Keisti laiką/vietą")
    assert chat.last_text.startswith("Ką pakeisti?\n„Bendruomenės susirinkimas“")
    await chat.click("Laiką")
    assert chat.last_text.startswith("Kada renginys prasideda?")
    new_start = in_days(11, 17)
    await chat.send(local(new_start))
    await chat.send("19:30")
    check = chat.last_text
    assert check.startswith("Patikrinkite pakeitimą\n„Bendruomenės susirinkimas“\n\nLaikas: ")
    assert "Pranešimą gaus 3 gyventojai (registruoti ir laukiantieji)." in check
    await chat.click("Išsaugoti ir pranešti")
    assert chat.last_text == "Renginys pakeistas. Pranešimą gaus 3 gyventojai."

    [event] = await db.all(Event)
    assert (event.starts_at, event.ends_at) == (
        new_start,
        new_start + timedelta(hours=2, minutes=30),
    )
    await wait_delivered(db)
    [broadcast] = await db.all(Broadcast)
    notice_audience = Audience(registered_event_id=event_id, with_waitlist=True)
    assert broadcast.audience == notice_audience.to_json()
    assert not broadcast.urgent
    for chat_id in registered:
        [notice] = texts_received(harness, chat_id)
        assert notice.startswith("Pasikeitė renginio laikas\n„Bendruomenės susirinkimas“\n\n")
        assert "18:00–20:00 → " in notice and "17:00–19:30" in notice
        assert notice.endswith(
            "Jūsų registracija galioja. Jei nebegalite atvykti, atšaukite ją, kad vietą "
            "galėtų užimti kitas."
        )
    assert texts_received(harness, bystander[0]) == []
    assert texts_received(harness, first) == []


async def test_changing_the_place_soon_is_urgent_and_cancelling_takes_two_taps(
    harness: BotHarness, db: Database
) -> None:
    registered = await add_residents(db.sessions, harness.api, 2, first_chat_id=100_000)
    chat = await organizer(harness)
    event_id = await add_event(db, capacity=1, start=utcnow() + timedelta(hours=5))
    await register(db, event_id, registered)  # one registered, one waiting

    await chat.send("/events")
    await chat.click("1. Keisti laiką/vietą")
    await chat.click("Vietą")
    assert chat.last_text.startswith("Kur tiksliai?")
    await chat.send("Kultūros centras, Pagėgiai")
    await chat.click("Be taško žemėlapyje")
    assert "Vieta: Vilniaus g. 5, Pagėgiai → Kultūros centras, Pagėgiai" in chat.last_text
    await chat.click("Išsaugoti ir pranešti")
    await wait_delivered(db)
    [change] = await db.all(Broadcast)
    assert change.urgent
    for chat_id in registered:
        [notice] = texts_received(harness, chat_id)
        assert notice.startswith("Pasikeitė renginio vieta")
        assert "Vieta: Vilniaus g. 5, Pagėgiai → Kultūros centras, Pagėgiai" in notice

    await chat.send("/events")
    await chat.click("1. Atšaukti renginį")
    assert chat.last_text.startswith("Atšaukti renginį?")
    assert "Pranešimą gaus 2 gyventojai (registruoti ir laukiantieji)." in chat.last_text
    await chat.click("Ne, palikti")
    assert chat.last_text == "Renginys „Bendruomenės susirinkimas“ neatšauktas."
    assert (await db.all(Event))[0].status is EventStatus.PUBLISHED
    await chat.click("1. Atšaukti renginį")
    confirm = chat.last
    await chat.click("Taip, atšaukti renginį")
    assert chat.last_text == (
        "Renginys „Bendruomenės susirinkimas“ atšauktas. Pranešimą gaus 2 gyventojai."
    )
    [event] = await db.all(Event)
    assert event.status is EventStatus.CANCELLED
    await wait_delivered(db)
    for chat_id in registered:
        notice = texts_received(harness, chat_id)[-1]
        assert notice.startswith("Renginys atšauktas\n„Bendruomenės susirinkimas“")
        assert notice.endswith("Atsiprašome. Jūsų registracija nebegalioja.")

    await chat.press(
        confirm.message_id,
        EventManageCb(event=event_id, action=ManageAction.CANCEL_CONFIRM).pack(),
    )
    assert alert(chat) == f"Renginys Nr. {event_id} atšauktas."
    assert await db.count(Broadcast) == 2
