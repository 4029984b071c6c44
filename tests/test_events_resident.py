"""Residents and events in Telegram: the list (Renginiai) with places in Lithuanian plurals,
registering in two taps with questions (also across a restart), the per-organization quota,
the waitlist, cancelling and the offer the next resident gets, accepting and declining
offers (also too late), deep links with a source tag, the .ics file and the QR code, the
organizer's capacity messages, /mydata, and every kind of bad or stale button."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select, update

from bot.channels.telegram.event_callbacks import (
    CancelStep,
    EventConfirmCb,
    EventOpenCb,
    EventRegisterCb,
    OfferAnswer,
    OfferCb,
    RegistrationCancelCb,
    ShareName,
)
from bot.channels.telegram.qr import qr_png
from bot.services import event_registrations, events
from bot.services.events import EventSpec
from models import (
    Event,
    EventKind,
    EventQuestion,
    Municipality,
    Registration,
    RegistrationStatus,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat
from tests.test_onboarding import onboard

ORGANIZER = 4242
VILNIUS = ZoneInfo("Europe/Vilnius")
STALE = "Šis mygtukas nebegalioja."
NOT_FOUND = "Šio renginio ar registracijos neradome."


def toast(chat: Chat) -> str:
    answer = chat.callback_answer()
    assert answer is not None
    return str(answer.get("text", ""))


async def municipality(db: Database, code: str) -> int:
    async with db.sessions() as session:
        found = await session.scalar(select(Municipality.id).where(Municipality.code == code))
    assert found is not None
    return found


async def make_event(db: Database, title: str = "Seniūnijos biudžetas", **kwargs: Any) -> Event:
    """An event in Pagėgiai three days from now, 18:00–20:00 Vilnius time."""
    code = kwargs.pop("code", "PAG")
    day = (utcnow() + timedelta(days=3)).astimezone(VILNIUS).date()
    start = datetime(day.year, day.month, day.day, 18, 0, tzinfo=VILNIUS).astimezone(UTC)
    values: dict[str, Any] = {
        "kind": EventKind.CONSULTATION,
        "title": title,
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "municipality_ids": frozenset({await municipality(db, code)}),
        "description": "Aptarsime, kam skirti seniūnijos lėšas.",
        "place_address": "Vilniaus g. 5, Pagėgiai",
    }
    values.update(kwargs)
    async with db.sessions() as session, session.begin():
        return await events.create_event(session, EventSpec(**values), created_by=ORGANIZER)


async def registration(db: Database, event: Event, chat: Chat) -> Registration | None:
    resident = await db.resident(chat.chat_id)
    assert resident is not None
    async with db.sessions() as session:
        return await session.scalar(
            select(Registration).where(
                Registration.event_id == event.id, Registration.resident_id == resident.id
            )
        )


async def status_of(db: Database, event: Event, chat: Chat) -> RegistrationStatus | None:
    found = await registration(db, event, chat)
    return found.status if found is not None else None


async def cancel_by_button(db: Database, event: Event, chat: Chat) -> None:
    """The second tap of Atšaukti registraciją (the first only asks)."""
    held = await registration(db, event, chat)
    assert held is not None
    await chat.press(
        chat.last.message_id,
        RegistrationCancelCb(registration=held.id, step=CancelStep.CONFIRM).pack(),
    )


async def ready(harness: BotHarness, user_id: int, name: str = "Ona", **user: Any) -> Chat:
    chat = harness.chat(user_id, name, **user)
    await onboard(chat)
    return chat


async def open_card(chat: Chat, event: Event) -> None:
    await chat.press(chat.last.message_id, EventOpenCb(event=event.id).pack())


async def register(chat: Chat, event: Event, *, share: bool = False) -> None:
    """Open the card, press Registruotis, then confirm (the two taps)."""
    await open_card(chat, event)
    await chat.click("Registruotis", chat.last)
    await chat.click("Registruotis ir rodyti vardą" if share else "Registruotis be vardo")


def confirmation(chat: Chat) -> tuple[str, bytes, bytes]:
    """The last confirmation: its text, the QR photo and the .ics file."""
    replies = chat.replies
    assert [m.kind for m in replies[-3:]] == ["text", "photo", "document"], chat.reply_texts
    text, photo, document = replies[-3:]
    assert photo.photo_bytes is not None and document.document_bytes is not None
    assert document.document_name is not None and document.document_name.endswith(".ics")
    return text.text, photo.photo_bytes, document.document_bytes


# -- the list ---------------------------------------------------------------------------------


async def test_the_list_shows_places_in_lithuanian_plurals(
    harness: BotHarness, db: Database
) -> None:
    chat = await ready(harness, 1001)
    await chat.tap_menu("Renginiai")
    assert chat.reply_texts == [
        "Šiuo metu artėjančių renginių nėra. Čia atsiras konsultacijos, mokymai ir diskusijos, "
        "į kuriuos galėsite registruotis."
    ]
    one = await make_event(db, "Viena vieta", capacity=1)
    three = await make_event(db, "Trys vietos", capacity=3, kind=EventKind.TRAINING)
    await make_event(db, "Dvylika vietų", capacity=12)
    await make_event(db, "Be ribų", place_address=None, online_url="https://meet.example.lt/a")
    await make_event(db, "Kitur", code="ZAR")  # another municipality: not listed
    full = await make_event(db, "Pilnas", capacity=1)
    # Someone else takes the only place of "Pilnas".
    neighbour = await ready(harness, 1002, "Jonas")
    await register(neighbour, full)

    await chat.tap_menu("Renginiai")
    text = chat.last_text
    assert text.startswith("Artėjantys renginiai\n\n1. Viena vieta – konsultacija\n🗓 ")
    assert "liko 1 vieta" in text
    assert "Trys vietos – mokymai" in text and "liko 3 vietos" in text
    assert "liko 12 vietų" in text
    assert "📍 nuotoliu\n👥 vietų neribota" in text
    assert "Pilnas – konsultacija" in text and "vietų nebėra – laukiančiųjų sąrašas" in text
    assert "Kitur" not in text
    weekday = one.starts_at.astimezone(VILNIUS).strftime("%w")
    lt_days = ["sekmadienis", "pirmadienis", "antradienis", "trečiadienis"]
    lt_days += ["ketvirtadienis", "penktadienis", "šeštadienis"]
    assert f"d., {lt_days[int(weekday)]}, 18:00" in text
    assert chat.last.button_texts() == [
        "1. Viena vieta",
        "2. Trys vietos",
        "3. Dvylika vietų",
        "4. Be ribų",
        "5. Pilnas",
        "Mano registracijos",
    ]

    # The resident's own status shows in the list, and /events gives the same list.
    await register(chat, three)
    await chat.send("/events")
    assert "Trys vietos – mokymai\n🗓" in chat.last_text
    assert "✅ Jūs užsiregistravę" in chat.last_text
    assert "✓ 2. Trys vietos" in chat.last.button_texts()


# -- registering ------------------------------------------------------------------------------


async def test_registering_in_two_taps_sends_code_qr_and_calendar(
    harness: BotHarness, db: Database
) -> None:
    event = await make_event(db, capacity=10, online_url="https://meet.example.lt/b")
    chat = await ready(harness, 1001, "Ona", last_name="Petraitytė")
    await chat.tap_menu("Renginiai")
    await chat.click("1. Seniūnijos biudžetas")
    card = chat.last
    assert card.text.startswith("Seniūnijos biudžetas\nKonsultacija\n\n🗓 ")
    assert "18:00–20:00\n📍 Vilniaus g. 5, Pagėgiai\n🔗 Nuotoliu: https://meet" in card.text
    assert "Aptarsime, kam skirti seniūnijos lėšas." in card.text
    assert "👥 Liko 10 vietų" in card.text
    assert card.button_texts() == ["Registruotis", "Visi renginiai", "Mano registracijos"]

    await chat.click("Registruotis", card)
    summary = chat.api.message(chat.chat_id, card.message_id)  # the card became the summary
    assert summary.text.startswith("Registracija į renginį „Seniūnijos biudžetas“")
    assert "Ar organizatoriai gali matyti jūsų vardą (Ona Petraitytė)?" in summary.text
    assert summary.button_texts() == [
        "Registruotis ir rodyti vardą",
        "Registruotis be vardo",
        "Nesiregistruoti",
    ]
    assert await registration(db, event, chat) is None  # one tap registers nobody

    await chat.click("Registruotis ir rodyti vardą", summary)
    text, photo, ics = confirmation(chat)
    saved = await registration(db, event, chat)
    assert saved is not None and saved.status is RegistrationStatus.REGISTERED
    assert saved.share_name is True and saved.display_name == "Ona Petraitytė"
    assert text.startswith("✅ Jūs užsiregistravote į renginį „Seniūnijos biudžetas“.")
    assert f"Jūsų registracijos kodas: {saved.checkin_code}." in text
    assert "🔗 Nuotoliu: https://meet.example.lt/b" in text
    assert photo.startswith(b"\x89PNG") and photo == qr_png(saved.checkin_code)
    assert chat.replies[-2].text == f"Registracijos kodas {saved.checkin_code}"

    calendar = Calendar.from_ical(ics)
    [entry] = calendar.walk("VEVENT")
    assert str(entry["UID"]) == f"registration-{saved.id}@dalyvauk"
    assert entry.decoded("DTSTART") == event.starts_at
    assert entry.decoded("DTEND") == event.ends_at
    assert entry.decoded("DTSTART").tzinfo is not None
    assert entry.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(entry["SUMMARY"]) == "Seniūnijos biudžetas"
    assert str(entry["LOCATION"]) == "Vilniaus g. 5, Pagėgiai"
    assert str(entry["URL"]) == "https://meet.example.lt/b"
    assert saved.checkin_code in str(entry["DESCRIPTION"])
    assert b"DTSTART:" in ics and b"Z\r\n" in ics  # written in UTC

    # A double tap of the confirmation registers nothing twice.
    await chat.press(summary.message_id, EventConfirmCb(event=event.id, share=ShareName.YES).pack())
    assert toast(chat) == "Jūs jau užsiregistravę į šį renginį."
    assert chat.replies == []
    assert await db.count(Registration, Registration.event_id == event.id) == 1

    # The same calendar entry (UID) every time: from the offer path too it is per registration.
    async with db.sessions() as session:
        again = await session.get(Registration, saved.id)
    assert again is not None and again.checkin_code == saved.checkin_code


async def test_residents_confirming_at_once_never_exceed_the_places(
    harness: BotHarness, db: Database
) -> None:
    """Six residents on the confirmation screen press it together for two places: two are
    registered, four wait in distinct places of the queue, and each is told which."""
    event = await make_event(db, capacity=2)
    chats = [await ready(harness, 2001 + n, f"Gyventojas{n}") for n in range(6)]
    for chat in chats:
        await chat.tap_menu("Renginiai")
        await open_card(chat, event)
        await chat.click("Registruotis", chat.last)
    await asyncio.gather(*(chat.click("Registruotis be vardo") for chat in chats))

    statuses = [await status_of(db, event, chat) for chat in chats]
    assert statuses.count(RegistrationStatus.REGISTERED) == 2
    assert statuses.count(RegistrationStatus.WAITLISTED) == 4
    async with db.sessions() as session:
        places_left = await events.places_left(session, event.id)
    assert places_left == 0
    told_registered = [
        chat
        for chat in chats
        if any(t.startswith("✅ Jūs užsiregistravote") for t in chat.reply_texts)
    ]
    assert len(told_registered) == 2
    for chat in chats:
        if chat not in told_registered:
            await chat.tap_menu("Renginiai")
            await chat.click("Mano registracijos")
            assert "⏳ Jūs laukiančiųjų sąraše (vieta eilėje: " in chat.last_text
    positions = set()
    for chat in chats:
        found = await registration(db, event, chat)
        assert found is not None
        if found.status is RegistrationStatus.WAITLISTED:
            async with db.sessions() as session:
                positions.add(await events.waitlist_position(session, found))
    assert positions == {1, 2, 3, 4}


async def test_without_the_name_nothing_of_it_is_kept(harness: BotHarness, db: Database) -> None:
    event = await make_event(db)
    chat = await ready(harness, 1001, "Ona", last_name="Petraitytė")
    await register(chat, event, share=False)
    confirmation(chat)
    saved = await registration(db, event, chat)
    assert saved is not None and saved.share_name is False and saved.display_name is None

    # "Nesiregistruoti" on a summary changes nothing.
    other = await make_event(db, "Kitas")
    await open_card(chat, other)
    await chat.click("Registruotis", chat.last)
    await chat.click("Nesiregistruoti")
    assert chat.last_text == "Registracija nutraukta. Nieko neišsaugojome."
    assert await registration(db, other, chat) is None


async def test_questions_one_by_one_with_a_too_long_answer_and_a_restart(
    harness: BotHarness, db: Database
) -> None:
    event = await make_event(
        db, questions=("Kokiai bendruomenei atstovaujate?", "Ar reikia pritaikymo?", "Kas dar?")
    )
    chat = await ready(harness, 1001)
    await register(chat, event)
    assert chat.reply_texts == [
        "1 klausimas iš 3:\n\nKokiai bendruomenei atstovaujate?\n\n"
        "Parašykite atsakymą viena žinute."
    ]
    assert chat.last.button_texts() == ["Praleisti šį klausimą", "Nutraukti registraciją"]

    await chat.send("x" * 501)
    assert chat.reply_texts == [
        "Jūsų atsakymas – 501 simbolių, o telpa iki 500. Prašome jį sutrumpinti ir atsiųsti "
        "dar kartą."
    ]
    await chat.send_photo()
    assert chat.reply_texts == ["Prašome atsakymą parašyti tekstu, viena žinute."]
    await chat.send("  Pagėgių bendruomenė  ")
    assert chat.reply_texts[0].startswith("2 klausimas iš 3:\n\nAr reikia pritaikymo?")
    assert await registration(db, event, chat) is None

    await harness.restart()  # the conversation state is in the database
    await chat.click("Praleisti šį klausimą")
    assert chat.reply_texts[0].startswith("3 klausimas iš 3:\n\nKas dar?")
    # The first question's skip button is stale now.
    first_prompt = next(m for m in chat.messages if m.text.startswith("1 klausimas iš 3"))
    await chat.click("Praleisti", first_prompt)
    assert toast(chat) == STALE

    await chat.send("Nieko")
    confirmation(chat)
    saved = await registration(db, event, chat)
    assert saved is not None and saved.status is RegistrationStatus.REGISTERED
    questions = {q.position: q.id for q in await db.all(EventQuestion)}
    assert saved.answers == {str(questions[1]): "Pagėgių bendruomenė", str(questions[3]): "Nieko"}
    assert [r for r in await db.fsm_records() if "event_registration" in json.dumps(r.data)] == []


async def test_organization_quota(harness: BotHarness, db: Database) -> None:
    event = await make_event(db, capacity=10, per_organization_quota=1)
    first = await ready(harness, 1001)
    await register(first, event)
    assert first.reply_texts[0].startswith("Šio renginio vietos dalijamos organizacijoms")
    await first.send("Bendruomenė „Saulėtekis“")
    confirmation(first)
    saved = await registration(db, event, first)
    assert saved is not None and saved.organization == "Bendruomenė „Saulėtekis“"

    second = await ready(harness, 1002, "Jonas")
    await register(second, event)
    await second.send("bendruomenė   saulėtekis")
    assert second.reply_texts == ["Jūsų organizacijai skirtos šio renginio vietos jau užimtos."]
    assert await registration(db, event, second) is None

    await register(second, event)
    await second.send("Jaunimo klubas")
    confirmation(second)


# -- the waitlist, cancelling and offers ----------------------------------------------------------


async def waitlisted_trio(harness: BotHarness, db: Database) -> tuple[Event, Chat, Chat, Chat]:
    event = await make_event(db, capacity=1, offer_hours=12)
    first = await ready(harness, 1001, "Ona")
    await register(first, event)
    confirmation(first)
    second = await ready(harness, 1002, "Jonas")
    await register(second, event)
    assert second.reply_texts == [
        "Renginyje „Seniūnijos biudžetas“ vietų nebeliko, todėl įrašėme jus į laukiančiųjų "
        "sąrašą – jūsų vieta eilėje: 1. Jei vieta atsilaisvins, parašysime jums čia ir "
        "palaikysime ją jums 12 val."
    ]
    third = await ready(harness, 1003, "Petras")
    await open_card(third, event)
    await third.click("Registruotis", third.last)
    assert "Vietų nebeliko, todėl būsite įrašyti į laukiančiųjų sąrašą." in third.last_text
    await third.click("Registruotis be vardo")
    assert "jūsų vieta eilėje: 2." in third.last_text
    return event, first, second, third


async def test_cancel_offers_the_place_and_the_next_accepts(
    harness: BotHarness, db: Database
) -> None:
    event, first, second, third = await waitlisted_trio(harness, db)

    await first.tap_menu("Renginiai")
    await first.click("Mano registracijos")
    mine = first.last
    assert mine.text.startswith("Mano registracijos\n\n1. Seniūnijos biudžetas\n🗓 ")
    held = await registration(db, event, first)
    assert held is not None
    assert f"✅ Užsiregistravote, registracijos kodas {held.checkin_code}" in mine.text
    await first.click("Atšaukti: 1. Seniūnijos biudžetas", mine)
    assert first.last_text.startswith(
        "Ar norite atšaukti registraciją į renginį „Seniūnijos biudžetas“?"
    )
    assert await status_of(db, event, first) is RegistrationStatus.REGISTERED
    question = first.last
    await first.click("Taip, atšaukti", question)
    assert first.api.message(first.chat_id, question.message_id).text == (
        "Jūsų registracija į renginį „Seniūnijos biudžetas“ atšaukta."
    )
    assert await status_of(db, event, first) is RegistrationStatus.CANCELLED

    # A double tap: nothing more happens.
    await first.press(
        question.message_id,
        RegistrationCancelCb(registration=held.id, step=CancelStep.CONFIRM).pack(),
    )
    assert toast(first) == "Ši registracija jau atšaukta."

    offer = second.last
    assert offer.text.startswith("Jums atsilaisvino vieta renginyje „Seniūnijos biudžetas“.")
    assert "Vietą Jums laikome iki " in offer.text
    assert offer.button_texts() == ["Taip, dalyvausiu", "Ne, atiduokite vietą kitam"]
    assert await status_of(db, event, second) is RegistrationStatus.OFFERED
    assert not third.last_text.startswith("Jums atsilaisvino")  # the third still waits

    await second.click("Taip, dalyvausiu", offer)
    text, _photo, _ics = confirmation(second)
    saved = await registration(db, event, second)
    assert saved is not None and saved.status is RegistrationStatus.REGISTERED
    assert saved.checkin_code in text
    assert second.api.message(second.chat_id, offer.message_id).button_texts() == []

    await second.press(
        offer.message_id, OfferCb(registration=saved.id, answer=OfferAnswer.ACCEPT).pack()
    )
    assert toast(second) == "Jūs jau užsiregistravę į šį renginį."
    assert second.replies == []

    await third.tap_menu("Renginiai")
    await third.click("Mano registracijos")
    assert "⏳ Jūs laukiančiųjų sąraše (vieta eilėje: 1)" in third.last_text


async def test_declining_passes_the_offer_on(harness: BotHarness, db: Database) -> None:
    event, first, second, third = await waitlisted_trio(harness, db)
    await cancel_by_button(db, event, first)
    await second.click("Ne, atiduokite vietą kitam", second.last)
    assert second.last_text == (
        "Ačiū, kad pranešėte. Vietą renginyje „Seniūnijos biudžetas“ pasiūlysime kitam."
    )
    assert await status_of(db, event, second) is RegistrationStatus.DECLINED
    assert third.last_text.startswith("Jums atsilaisvino vieta renginyje")
    assert await status_of(db, event, third) is RegistrationStatus.OFFERED


async def test_accepting_too_late_is_refused_and_the_place_goes_on(
    harness: BotHarness, db: Database
) -> None:
    event, first, second, third = await waitlisted_trio(harness, db)
    await cancel_by_button(db, event, first)
    offered = await registration(db, event, second)
    assert offered is not None and offered.status is RegistrationStatus.OFFERED
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Registration)
            .where(Registration.id == offered.id)
            .values(offer_expires_at=utcnow() - timedelta(minutes=1))
        )
    await second.click("Taip, dalyvausiu", second.last)
    expected = "Deja, laikas priimti vietą baigėsi – ji pasiūlyta kitam laukiančiųjų sąraše."
    assert toast(second) == expected
    assert second.reply_texts == [expected]
    assert await status_of(db, event, second) is RegistrationStatus.EXPIRED
    assert third.last_text.startswith("Jums atsilaisvino vieta renginyje")
    assert await status_of(db, event, third) is RegistrationStatus.OFFERED


# -- deep links ---------------------------------------------------------------------------------


async def test_deep_link_with_a_source_is_stored_with_the_registration(
    harness: BotHarness, db: Database
) -> None:
    event = await make_event(db)
    newcomer = harness.chat(1001, "Ona")
    await newcomer.send(f"/start evt_{event.id}_plakatas-1")
    await onboard(newcomer)  # onboarding first, then the event's card
    assert newcomer.last_text.startswith("Seniūnijos biudžetas\nKonsultacija")
    await newcomer.click("Registruotis", newcomer.last)
    await newcomer.click("Registruotis be vardo")
    confirmation(newcomer)
    saved = await registration(db, event, newcomer)
    assert saved is not None and saved.source == "plakatas-1"
    resident = await db.resident(1001)
    assert resident is not None and resident.source == f"evt_{event.id}_plakatas-1"

    # An onboarded resident: the card at once; without a tag no source.
    other = await ready(harness, 1002, "Jonas")
    await other.send(f"/start evt_{event.id}")
    assert other.reply_texts[1].startswith("Seniūnijos biudžetas\nKonsultacija")
    await other.click("Registruotis", other.last)
    await other.click("Registruotis be vardo")
    saved = await registration(db, event, other)
    assert saved is not None and saved.source is None

    await other.send("/start evt_999999_x")
    assert other.reply_texts[1] == NOT_FOUND


# -- the organizer ----------------------------------------------------------------------------


async def test_the_organizer_hears_of_50_80_and_100_percent(
    harness: BotHarness, db: Database
) -> None:
    organizer = harness.chat(ORGANIZER, "Tomas")
    event = await make_event(db, capacity=5)
    residents = [await ready(harness, 1001 + n, f"Gyventojas {n}") for n in range(5)]
    seen: list[str] = []
    for chat in residents:
        before = len(organizer.messages)
        await register(chat, event)
        seen.append("\n".join(m.text for m in organizer.messages[before:]))
    assert seen == [
        "",
        "",
        "Jūsų renginyje „Seniūnijos biudžetas“ užimta 60\xa0% vietų: 3 iš 5.",
        "Jūsų renginyje „Seniūnijos biudžetas“ užimta 80\xa0% vietų: 4 iš 5.",
        "Užimtos visos jūsų renginio „Seniūnijos biudžetas“ vietos (5).",
    ]


# -- bad input ------------------------------------------------------------------------------------


async def test_forged_stale_and_refused_buttons_change_nothing(
    harness: BotHarness, db: Database
) -> None:
    chat = await ready(harness, 1001)
    other = await ready(harness, 1002, "Jonas")
    event = await make_event(db)
    elsewhere = await make_event(db, "Zarasuose", code="ZAR")
    closed = await make_event(db, "Uždaryta", registration_deadline=utcnow() + timedelta(days=1))
    await chat.tap_menu("Renginiai")
    anchor = chat.last.message_id

    await chat.press(anchor, EventOpenCb(event=999_999).pack())
    assert toast(chat) == NOT_FOUND
    await chat.press(anchor, EventOpenCb(event=elsewhere.id).pack())
    assert toast(chat) == "Šis renginys skirtas kitos savivaldybės gyventojams."
    await chat.press(anchor, EventRegisterCb(event=elsewhere.id).pack())
    assert toast(chat) == "Šis renginys skirtas kitos savivaldybės gyventojams."
    assert await db.count(Registration) == 0

    # Registration closed after the card was shown.
    await open_card(chat, closed)
    card = chat.last
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Event)
            .where(Event.id == closed.id)
            .values(registration_deadline=utcnow() - timedelta(minutes=1))
        )
    await chat.click("Registruotis", card)
    assert toast(chat) == "Registracija į šį renginį jau baigėsi."
    assert await db.count(Registration) == 0

    # Another resident's registration: not found for this one.
    await register(other, event)
    theirs = await registration(db, event, other)
    assert theirs is not None
    for data in (
        RegistrationCancelCb(registration=theirs.id, step=CancelStep.ASK).pack(),
        RegistrationCancelCb(registration=theirs.id, step=CancelStep.CONFIRM).pack(),
        OfferCb(registration=theirs.id, answer=OfferAnswer.ACCEPT).pack(),
        OfferCb(registration=theirs.id, answer=OfferAnswer.DECLINE).pack(),
        "rc:abc:yes",
    ):
        await chat.press(anchor, data)
        assert toast(chat) in (NOT_FOUND, STALE)
    assert await status_of(db, event, other) is RegistrationStatus.REGISTERED

    # An offer button for a registration that is no offer.
    await other.press(
        other.last.message_id, OfferCb(registration=theirs.id, answer=OfferAnswer.DECLINE).pack()
    )
    assert toast(other) == "Šis pasiūlymas nebegalioja."
    assert await status_of(db, event, other) is RegistrationStatus.REGISTERED

    # A cancelled event.
    await open_card(chat, event)
    card = chat.last
    async with db.sessions() as session, session.begin():
        await events.cancel_event(session, event.id, by=ORGANIZER)
    await chat.click("Registruotis", card)
    assert toast(chat) == "Šis renginys atšauktas."
    await other.press(
        other.last.message_id,
        RegistrationCancelCb(registration=theirs.id, step=CancelStep.CONFIRM).pack(),
    )
    assert toast(other) == "Šis renginys atšauktas."
    assert await status_of(db, event, other) is RegistrationStatus.REGISTERED
    assert await registration(db, event, chat) is None


async def test_mydata_includes_event_registrations(harness: BotHarness, db: Database) -> None:
    event = await make_event(db, questions=("Kokiai bendruomenei atstovaujate?",))
    chat = await ready(harness, 1001, "Ona", last_name="Petraitytė")
    await register(chat, event, share=True)
    await chat.send("Pagėgių bendruomenė")
    await chat.send("/mydata")
    data = json.loads(chat.last.document_bytes or b"")
    [entry] = data["event_registrations"]
    saved = await registration(db, event, chat)
    assert saved is not None
    assert entry["event"]["title"] == "Seniūnijos biudžetas"
    assert entry["status"] == "registered"
    assert entry["checkin_code"] == saved.checkin_code
    assert entry["display_name"] == "Ona Petraitytė"
    assert entry["answers"] == [
        {"question": "Kokiai bendruomenei atstovaujate?", "answer": "Pagėgių bendruomenė"}
    ]
    # The service sees the same registration.
    async with db.sessions() as session:
        resident = await db.resident(1001)
        assert resident is not None
        mine = await event_registrations.my_registrations(session, resident)
    assert [m.registration.id for m in mine] == [saved.id]
