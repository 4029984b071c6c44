"""Events on Messenger, end to end on the real app and the local Graph API: the list, the
card, registering in two taps with the name, the questions and the check-in code with its
QR image; the waitlist; cancelling in two taps and the place offered to the next resident
(on Messenger with Accept/Decline postbacks, on Telegram as before); declining; an offer
that expired; deep links with a source tag; stale and forged payloads."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.app import start_web_server
from bot.channels.telegram.event_callbacks import (
    EventConfirmCb,
    EventOpenCb,
    OfferAnswer,
    OfferCb,
    ShareName,
)
from bot.channels.telegram.event_jobs import EventJobs
from bot.channels.telegram.qr import qr_png
from bot.services import events
from models import (
    Channel,
    Event,
    EventQuestion,
    HeldNotice,
    Registration,
    RegistrationStatus,
    ResidentAccount,
    utcnow,
)
from tests.support.db import Database
from tests.support.messenger import MessengerHarness, MessengerUser
from tests.test_events_resident import make_event
from tests.test_onboarding import onboard

CARD_TITLE = "Seniūnijos biudžetas"


def fits(messenger: MessengerHarness, *users: MessengerUser) -> None:
    """Everything sent stayed within Graph's limits."""
    assert messenger.graph.violations == 0
    for user in users:
        for message in user.messages:
            assert len(message.quick_replies) <= 13
            assert len(message.buttons) <= 3
            for title, payload in [*message.quick_replies, *message.buttons]:
                assert 0 < len(title) <= 20, title
                assert len(payload) <= 1000


async def registrations(db: Database, event: Event) -> list[Registration]:
    async with db.sessions() as session:
        found = await session.scalars(
            select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
        )
        return list(found)


async def resident_id(db: Database, psid: str) -> int:
    rows = await db.all(
        ResidentAccount,
        ResidentAccount.channel == Channel.MESSENGER,
        ResidentAccount.external_id == psid,
    )
    return int(rows[0].resident_id)


async def registration_of(db: Database, event: Event, psid: str) -> Registration | None:
    who = await resident_id(db, psid)
    found = [r for r in await registrations(db, event) if r.resident_id == who]
    return found[0] if found else None


async def ready(messenger: MessengerHarness, psid: str) -> MessengerUser:
    user = messenger.user(psid)
    await user.onboard(municipality="PAG")
    return user


async def register(user: MessengerUser, event: Event) -> None:
    """The card from its payload, Registruotis, Be vardo (two taps)."""
    await user.postback(EventOpenCb(event=event.id).pack())
    await user.postback(f"er:{event.id}")
    await user.tap("Be vardo")


def button(user: MessengerUser, title: str) -> str:
    for message in reversed(user.messages):
        for found, payload in message.buttons:
            if found == title:
                return payload
    raise AssertionError(f"no button {title!r}")


def jobs(messenger: MessengerHarness) -> EventJobs:
    job = messenger.app.scheduler.get_job("event_jobs")
    assert job is not None
    found = job.func.__self__
    assert isinstance(found, EventJobs)
    return found


async def test_list_card_register_with_name_and_questions_then_code_and_qr(
    messenger: MessengerHarness, db: Database
) -> None:
    event = await make_event(
        db, capacity=5, online_url="https://meet.example.lt/biudzetas", title=CARD_TITLE
    )
    async with db.sessions() as session, session.begin():
        stored = await events.get_event(session, event.id)
        assert stored is not None
        session.add(EventQuestion(event_id=event.id, position=1, text="Kokia tema jums svarbi?"))
        session.add(EventQuestion(event_id=event.id, position=2, text="Ar reikia vertėjo?"))
    ona = await ready(messenger, "8101")
    await ona.tap("Renginiai")
    [listing] = ona.replies
    assert "Artėjantys renginiai" in (listing.text or "")
    assert CARD_TITLE in (listing.text or "") and "liko 5 vietos" in (listing.text or "")
    assert ona.quick_reply_titles()[0] == "1. Seniūnijos biudž…"

    await ona.tap("1. Seniūnijos biudž…")
    [card] = ona.replies
    text = card.text or ""
    assert text.startswith(CARD_TITLE) and "18:00–20:00" in text
    assert "📍 Vilniaus g. 5, Pagėgiai" in text and "Liko 5 vietos" in text
    assert card.buttons == [
        ("Registruotis", f"er:{event.id}"),
        ("Prisijungti", "https://meet.example.lt/biudzetas"),
    ]

    await ona.postback(button(ona, "Registruotis"))
    assert "Registracija į renginį „Seniūnijos biudžetas“" in ona.last_text
    assert "Patvirtinus užduosime 2 trumpus klausimus." in ona.last_text
    assert ona.quick_reply_titles() == ["Su mano vardu", "Be vardo", "Nesiregistruoti"]
    await ona.tap("Su mano vardu")
    assert "Prašome parašyti savo vardą" in ona.last_text
    await ona.send("Ona Onaitė")
    assert "1 klausimas iš 2:" in ona.last_text and "Kokia tema jums svarbi?" in ona.last_text
    await ona.send("Keliai")
    assert "2 klausimas iš 2:" in ona.last_text
    assert await registration_of(db, event, "8101") is None  # nothing saved until the end
    await ona.tap("Praleisti")
    reply, picture = ona.replies
    saved = await registration_of(db, event, "8101")
    assert saved is not None and saved.status is RegistrationStatus.REGISTERED
    assert saved.share_name and saved.display_name == "Ona Onaitė"
    assert list((saved.answers or {}).values()) == ["Keliai"]
    assert "✅ Jūs užsiregistravote į renginį „Seniūnijos biudžetas“." in (reply.text or "")
    assert saved.checkin_code in (reply.text or "")
    assert "kalendoriaus failo" in (reply.text or "")
    assert picture.kind == "image" and picture.image == qr_png(saved.checkin_code)

    await ona.tap("Mano registracijos")
    assert f"Užsiregistravote, registracijos kodas {saved.checkin_code}" in ona.last_text
    fits(messenger, ona)


async def test_full_event_waitlist_then_cancel_offers_the_place_and_accept(
    messenger: MessengerHarness, db: Database
) -> None:
    event = await make_event(db, capacity=1, title=CARD_TITLE)
    ona = await ready(messenger, "8201")
    jonas = await ready(messenger, "8202")
    await register(ona, event)
    await register(jonas, event)
    assert "įrašėme jus į laukiančiųjų sąrašą – jūsų vieta eilėje: 1." in jonas.last_text
    waiting = await registration_of(db, event, "8202")
    assert waiting is not None and waiting.status is RegistrationStatus.WAITLISTED

    # Ona gives her place up in two taps.
    await ona.postback("myevents")
    cancel = [t for t in ona.quick_reply_titles() if t.startswith("Atšaukti: 1.")]
    assert cancel
    await ona.tap(cancel[0])
    assert "Ar norite atšaukti registraciją į renginį „Seniūnijos biudžetas“?" in ona.last_text
    await ona.tap("Taip, atšaukti")
    assert "Jūsų registracija į renginį „Seniūnijos biudžetas“ atšaukta." in ona.last_text
    mine = await registration_of(db, event, "8201")
    assert mine is not None and mine.status is RegistrationStatus.CANCELLED

    # Jonas is offered the place on Messenger, with the two postback buttons.
    offer = jonas.messages[-1]
    assert "Jums atsilaisvino vieta" in (offer.text or "")
    assert offer.messaging_type == "UPDATE"
    assert [payload for _title, payload in offer.buttons] == [
        OfferCb(registration=waiting.id, answer=OfferAnswer.ACCEPT).pack(),
        OfferCb(registration=waiting.id, answer=OfferAnswer.DECLINE).pack(),
    ]
    await jonas.postback(offer.buttons[0][1], offer.buttons[0][0])
    text, picture = jonas.replies
    accepted = await registration_of(db, event, "8202")
    assert accepted is not None and accepted.status is RegistrationStatus.REGISTERED
    assert accepted.checkin_code in (text.text or "") and picture.kind == "image"
    # A second tap on the old offer changes nothing.
    await jonas.postback(offer.buttons[0][1])
    assert "Jūs jau užsiregistravę į šį renginį." in jonas.last_text
    fits(messenger, ona, jonas)


async def test_decline_passes_the_place_on_and_an_expired_offer_is_too_late(
    messenger: MessengerHarness, db: Database
) -> None:
    event = await make_event(db, capacity=1, title=CARD_TITLE)
    ona = await ready(messenger, "8301")
    jonas = await ready(messenger, "8302")
    petras = await ready(messenger, "8303")
    for user in (ona, jonas, petras):
        await register(user, event)
    first = await registration_of(db, event, "8301")
    assert first is not None
    await ona.postback(f"rc:{first.id}:ask")
    await ona.tap("Taip, atšaukti")
    decline = button(jonas, "Atsisakyti vietos")
    await jonas.postback(decline)
    assert "Ačiū, kad pranešėte" in jonas.last_text
    declined = await registration_of(db, event, "8302")
    assert declined is not None and declined.status is RegistrationStatus.DECLINED
    offered = await registration_of(db, event, "8303")
    assert offered is not None and offered.status is RegistrationStatus.OFFERED
    assert "Jums atsilaisvino vieta" in petras.last_text
    accept = button(petras, "Taip, dalyvausiu")

    # Petras does not answer in time: the job expires the offer and tells him.
    assert offered.offer_expires_at is not None
    await jobs(messenger).offers(now=offered.offer_expires_at + timedelta(minutes=1))
    assert "Jums laikyta vieta renginyje „Seniūnijos biudžetas“ atiteko kitam" in petras.last_text
    await petras.postback(accept)
    assert "Deja, laikas priimti vietą baigėsi" in petras.last_text
    late = await registration_of(db, event, "8303")
    assert late is not None and late.status is RegistrationStatus.EXPIRED
    fits(messenger, ona, jonas, petras)


async def test_deep_link_keeps_the_source_and_stale_or_forged_payloads_are_refused(
    messenger: MessengerHarness, db: Database
) -> None:
    event = await make_event(db, capacity=3, title=CARD_TITLE)
    other = await make_event(db, title="Kitas renginys", code="VLN")
    ona = await ready(messenger, "8401")
    jonas = await ready(messenger, "8402")
    await ona.postback(f"start:evt_{event.id}_plakatas")
    assert ona.last_text.startswith(CARD_TITLE)
    await ona.postback(f"er:{event.id}")
    confirm = EventConfirmCb(event=event.id, share=ShareName.NO).pack()
    await ona.postback(confirm)
    await ona.postback(confirm)  # a double tap
    assert "Jūs jau užsiregistravę į šį renginį." in ona.last_text
    saved = await registrations(db, event)
    assert len(saved) == 1 and saved[0].source == "plakatas" and not saved[0].share_name

    await ona.postback("eo:999999")
    assert "Šio renginio ar registracijos neradome." in ona.last_text
    await ona.postback(f"eo:{other.id}")
    assert "kitos savivaldybės" in ona.last_text
    await ona.postback("start:evt_nonsense")
    assert "Šis mygtukas nebegalioja." in ona.last_text
    await ona.postback("of:xx:zz")
    assert "Šis mygtukas nebegalioja." in ona.last_text
    # Someone else's registration cannot be cancelled or accepted.
    await jonas.postback(f"rc:{saved[0].id}:yes")
    assert "neradome" in jonas.last_text
    await jonas.postback(f"of:{saved[0].id}:a")
    assert (await registrations(db, event))[0].status is RegistrationStatus.REGISTERED

    # A cancelled event: the card and registering are refused.
    async with db.sessions() as session, session.begin():
        await events.cancel_event(session, event.id, by=4242, now=utcnow())
    await jonas.postback(f"start:evt_{event.id}")
    assert "Šis renginys atšauktas." in jonas.last_text
    await jonas.postback(f"er:{event.id}")
    assert "Šis renginys atšauktas." in jonas.last_text
    assert len(await registrations(db, event)) == 1
    fits(messenger, ona, jonas)


async def test_a_telegram_resident_on_the_waitlist_still_gets_the_offer_on_telegram(
    messenger: MessengerHarness, db: Database
) -> None:
    event = await make_event(db, capacity=1, title=CARD_TITLE)
    ona = await ready(messenger, "8501")
    await register(ona, event)
    chat = messenger.harness.chat(9501, "Jonas")
    await onboard(chat)
    await chat.press(chat.last.message_id, EventOpenCb(event=event.id).pack())
    await chat.press(chat.last.message_id, f"er:{event.id}")
    await chat.press(
        chat.last.message_id, EventConfirmCb(event=event.id, share=ShareName.NO).pack()
    )
    mine = await registration_of(db, event, "8501")
    assert mine is not None
    await ona.postback(f"rc:{mine.id}:ask")
    await ona.tap("Taip, atšaukti")
    offer = chat.last
    assert "Jums atsilaisvino vieta" in offer.text
    assert "Taip, dalyvausiu" in offer.button_texts()
    assert not messenger.graph.messages_for("9501")
    fits(messenger, ona)


async def restart(messenger: MessengerHarness) -> None:
    """A new process on the same database (the web server and Messenger with it)."""
    runner = messenger._runner
    assert runner is not None
    await runner.cleanup()
    messenger._runner = None
    await messenger.harness.restart()
    messenger._runner = await start_web_server(messenger.app)
    await messenger.app.start_messenger()


async def test_pages_organization_a_restart_in_the_questions_and_an_offer_held_outside_the_window(
    messenger: MessengerHarness, db: Database
) -> None:
    for number in range(1, 7):
        await make_event(db, title=f"Renginys {number}", capacity=1)
    event = await make_event(db, title=CARD_TITLE, capacity=1, per_organization_quota=1)
    async with db.sessions() as session, session.begin():
        session.add(EventQuestion(event_id=event.id, position=1, text="Kokia tema jums svarbi?"))
    ona = await ready(messenger, "8601")
    jonas = await ready(messenger, "8602")
    await ona.tap("Renginiai")
    assert "(1 / 2)" in ona.last_text and ona.quick_reply_titles()[-3] == "Daugiau"
    await ona.tap("Daugiau")
    assert "(2 / 2)" in ona.last_text and "Daugiau" not in ona.quick_reply_titles()

    await ona.postback(f"er:{event.id}")
    await ona.tap("Be vardo")
    assert "Kuriai organizacijai ar bendruomenei atstovaujate?" in ona.last_text
    await ona.send("Pagėgių bendruomenė")
    assert "1 klausimas iš 1:" in ona.last_text
    await restart(messenger)  # the draft waits in the database
    await ona.send("Keliai")
    saved = await registration_of(db, event, "8601")
    assert saved is not None and saved.status is RegistrationStatus.REGISTERED
    assert saved.organization == "Pagėgių bendruomenė"
    assert list((saved.answers or {}).values()) == ["Keliai"]

    # Jonas waits; his window has closed when the place frees up: the offer is kept for him.
    await jonas.postback(f"er:{event.id}")
    await jonas.tap("Be vardo")
    await jonas.send("Kita organizacija")
    await jonas.send("Nieko")
    assert "laukiančiųjų sąrašą" in jonas.last_text
    long_ago = utcnow() - timedelta(days=2)
    messenger.graph.set_last_inbound("8602", long_ago)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(ResidentAccount)
            .where(ResidentAccount.external_id == "8602")
            .values(last_inbound_at=long_ago)
        )
    sent_before = len(jonas.messages)
    await ona.postback(f"rc:{saved.id}:yes")
    assert len(jonas.messages) == sent_before
    [held] = await db.all(HeldNotice, HeldNotice.resident_id == await resident_id(db, "8602"))
    assert "Jums atsilaisvino vieta" in held.text
    assert [b["title"] for b in held.buttons] == ["Taip, dalyvausiu", "Atsisakyti vietos"]
    fits(messenger, ona, jonas)
