"""Residents' proposals in Telegram: "Pateikti pasiūlymą" step by step (topic, municipality,
place or location, text, photos, name or pseudonym, summary, reference number), every bad
input (short and long texts with the draft kept, stickers, a sixth photo, stale and forged
buttons, a double tap on Pateikti, a duplicate update), the refusals (blocked, daily limit,
not registered), a draft kept across a restart, and Mano pasiūlymai with statuses and
history."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.services import proposals
from bot.services.proposals import ProposalSpec
from models import Municipality, Proposal, ProposalStatus, Resident, utcnow
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Chat
from tests.test_onboarding import onboard

STALE = "Šis mygtukas nebegalioja."
TEXT = "Prašome įrengti apšvietimą Vilniaus gatvėje prie mokyklos."
YEAR = utcnow().year


def toast(chat: Chat) -> str:
    answer = chat.callback_answer()
    assert answer is not None
    return str(answer.get("text", ""))


async def location(chat: Chat, latitude: float, longitude: float) -> None:
    update = await chat.api.send_location(chat.user_id, latitude, longitude)
    await chat._act(update)


async def load(db: Database) -> list[Proposal]:
    async with db.sessions() as session:
        return list(
            await session.scalars(
                select(Proposal).options(selectinload(Proposal.photos)).order_by(Proposal.id)
            )
        )


async def to_text_step(chat: Chat) -> None:
    await chat.tap_menu("Pateikti pasiūlymą")
    await chat.click("Infrastruktūra")
    await chat.click("Pagėgių sav.")
    await chat.click("Praleisti")


async def to_summary(chat: Chat) -> None:
    """From the photos step: no photos, only a pseudonym."""
    await chat.click("Be nuotraukų")
    await chat.click("Ne, tik slapyvardį")


async def submit_quickly(chat: Chat, text: str = TEXT) -> None:
    await to_text_step(chat)
    await chat.send(text)
    await to_summary(chat)
    await chat.click("Pateikti")


async def service_proposal(db: Database, chat_id: int, text: str = TEXT) -> int:
    async with db.sessions() as session, session.begin():
        resident = await session.scalar(
            select(Resident).where(Resident.external_id == str(chat_id))
        )
        assert resident is not None and resident.municipality_id is not None
        result = await proposals.submit(
            session,
            resident,
            ProposalSpec(municipality_id=resident.municipality_id, category="youth", text=text),
            daily_limit=100,
        )
        assert result.proposal is not None
        return result.proposal.id


async def test_the_whole_dialogue_with_location_photos_and_the_name(
    harness: BotHarness, db: Database
) -> None:
    admin = harness.chat(ADMIN_ID, "Tomas")
    chat = harness.chat(5001, "Ona", last_name="Petraitienė")
    await onboard(chat)

    await chat.tap_menu("Pateikti pasiūlymą")
    assert chat.reply_texts == ["Kam skirtas jūsų pasiūlymas? Pasirinkite temą."]
    assert chat.last.button_texts() == [
        "Infrastruktūra",
        "Aplinka",
        "Kultūra ir laisvalaikis",
        "Socialinės paslaugos",
        "Jaunimas",
        "Kita",
        "Mano pasiūlymai",
    ]
    await chat.click("Infrastruktūra")
    assert chat.reply_texts == [
        "Kuriai savivaldybei skirtas pasiūlymas? Jūsų savivaldybė – „Pagėgių sav.“."
    ]
    assert chat.last.button_texts() == ["Pagėgių sav.", "Kita savivaldybė"]
    await chat.click("Pagėgių sav.")
    assert chat.reply_texts[0].startswith("Kur tiksliau? Parašykite seniūniją")
    await location(chat, 55.1386, 21.9118)
    assert chat.reply_texts == ["Aprašykite savo pasiūlymą: nuo 20 iki 2000 simbolių."]
    await chat.send(TEXT)
    assert chat.reply_texts[0].startswith("Galite pridėti iki 5 nuotraukų")
    assert chat.last.button_texts() == ["Be nuotraukų"]
    await chat.send_photo()
    assert chat.reply_texts == ["Nuotrauka pridėta (1 iš 5)."]
    assert chat.last.button_texts() == ["Baigti"]
    await chat.send_photo(caption="Tamsi gatvė")
    assert chat.reply_texts == ["Nuotrauka pridėta (2 iš 5)."]
    await chat.click("Baigti")
    assert chat.reply_texts == [
        "Ar moderatoriai gali matyti jūsų vardą (Ona Petraitienė)? Kitaip jie matys tik slapyvardį."
    ]
    await chat.click("Taip, rodyti mano vardą")
    summary = chat.last_text
    assert summary.startswith("Patikrinkite savo pasiūlymą:")
    for line in (
        "Tema: Infrastruktūra",
        "Savivaldybė: Pagėgių sav.",
        "Vieta žemėlapyje: pridėta",
        "Nuotraukos: 2",
        "Moderatoriai matys jūsų vardą: Ona Petraitienė",
        TEXT,
    ):
        assert line in summary
    assert chat.last.button_texts() == ["Pateikti", "Taisyti", "Atšaukti"]

    await chat.click("Pateikti")
    reference = f"PAG-{YEAR}-0001"
    assert chat.last_text.startswith(f"Ačiū! Jūsų pasiūlymo numeris {reference}.")
    # No moderators' chat is bound: the resident is told it will reach them soon.
    assert "netrukus pasieks moderatorius" in chat.last_text
    # ... and the admins hear that it waits for a moderators' chat.
    assert any(reference in m.text and "/bind PAG" in m.text for m in admin.messages)
    assert re.fullmatch(r"[A-Z]{3}-\d{4}-\d{4}", reference)

    [saved] = await load(db)
    assert saved.reference == reference
    assert saved.status is ProposalStatus.NEW
    assert saved.category == "infrastructure"
    assert (saved.latitude, saved.longitude, saved.place_text) == (55.1386, 21.9118, None)
    assert saved.text == TEXT
    assert (saved.anonymous, saved.display_name) == (False, "Ona Petraitienė")
    assert len(saved.photos) == 2 and all(photo.file_id for photo in saved.photos)
    assert [photo.position for photo in saved.photos] == [1, 2]

    # The next one: typed place, another municipality, a pseudonym.
    await chat.tap_menu("Pateikti pasiūlymą")
    await chat.click("Aplinka")
    await chat.click("Kita savivaldybė")
    assert chat.last_text == "Kuriai savivaldybei skirtas pasiūlymas?"
    await chat.click("Alytaus m.")
    await chat.send("Vileišio seniūnija")
    await chat.send("Daugiau medžių prie ežero pakrantės, prašom.")
    await to_summary(chat)
    assert "Vieta: Vileišio seniūnija" in chat.last_text
    assert "Moderatoriai matys tik slapyvardį." in chat.last_text
    await chat.click("Pateikti")
    second = (await load(db))[1]
    assert second.reference.endswith(f"-{YEAR}-0001") and second.reference != reference
    assert second.reference in chat.last_text
    async with db.sessions() as session:
        alytus = await session.get(Municipality, second.municipality_id)
    assert alytus is not None and alytus.short_name("lt") == "Alytaus m."
    assert second.place_text == "Vileišio seniūnija"
    assert (second.anonymous, second.display_name, second.photos) == (True, None, [])
    assert proposals.author_label(second).startswith("Gyventojas #")


async def test_bad_input_is_answered_politely_and_the_draft_is_kept(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(5002, "Jonas")
    await onboard(chat)
    await chat.tap_menu("Pateikti pasiūlymą")
    topic_message = chat.last
    await chat.send("Noriu pasiūlyti")  # typed instead of a button
    assert chat.reply_texts == ["Pasirinkite mygtukais aukščiau."]
    await chat.click("Jaunimas", topic_message)
    await chat.click("Pagėgių sav.")
    await chat.send_sticker()  # the place step takes text or a location
    assert chat.reply_texts == [
        "Parašykite vietą, pasidalykite vieta žemėlapyje arba paspauskite „Praleisti“."
    ]
    await chat.click("Praleisti")

    await chat.send("Per trumpai")
    assert chat.reply_texts == ["Aprašymas per trumpas (11 simb.): parašykite bent 20."]
    await chat.send("x" * 2001)
    assert chat.reply_texts == [
        "Aprašymas per ilgas (2001 simb.): sutrumpinkite jį iki 2000. "
        "Tai, ką jau pasirinkote, išsaugota."
    ]
    await chat.send_sticker()
    assert chat.reply_texts == ["Parašykite pasiūlymą tekstu."]
    await chat.send_voice()
    assert chat.reply_texts == ["Parašykite pasiūlymą tekstu."]
    # A stale button of an earlier step changes nothing.
    await chat.press(topic_message.message_id, "prc:culture_leisure")
    assert toast(chat) == STALE
    await chat.send("Jaunimo centre trūksta stalo teniso stalų.")

    for _ in range(5):
        await chat.send_photo()
    assert chat.last_text == "Nuotrauka pridėta (5 iš 5)."
    await chat.send_photo()
    assert chat.reply_texts == [
        "Galima pridėti tik iki 5 nuotraukų: ši nepridėta, anksčiau atsiųstos išsaugotos. "
        "Paspauskite „Baigti“."
    ]
    await chat.send_sticker()
    assert chat.reply_texts == ["Atsiųskite nuotrauką arba paspauskite mygtuką."]
    # Forged data: an unknown category, a confirmation before the summary.
    await chat.press(chat.last.message_id, "prc:weapons")
    assert toast(chat) == STALE
    await chat.press(chat.last.message_id, "prx:s")
    assert toast(chat) == STALE
    assert await db.count(Proposal) == 0
    await chat.click("Baigti")
    await chat.click("Ne, tik slapyvardį")
    assert "Nuotraukos: 5" in chat.last_text
    assert "Tema: Jaunimas" in chat.last_text

    # A double tap on Pateikti: one proposal.
    summary = chat.last
    submit = summary.button_data("Pateikti")
    await chat.press(summary.message_id, submit)
    await chat.press(summary.message_id, submit)
    assert toast(chat) == STALE
    [saved] = await load(db)
    assert saved.text == "Jaunimo centre trūksta stalo teniso stalų."
    assert len(saved.photos) == 5
    assert saved.category == "youth"


async def test_edit_and_cancel_from_the_summary(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(5003, "Rūta")
    await onboard(chat)
    await to_text_step(chat)
    await chat.send(TEXT)
    await to_summary(chat)
    await chat.click("Taisyti")
    assert chat.last_text == "Kam skirtas jūsų pasiūlymas? Pasirinkite temą."
    await chat.click("Kita")
    await chat.click("Pagėgių sav.")
    await chat.send("Pagėgių seniūnija")
    await chat.send("Pataisytas tekstas: reikia suoliukų parke.")
    await to_summary(chat)
    assert "Tema: Kita" in chat.last_text
    assert "Pataisytas tekstas" in chat.last_text
    await chat.click("Atšaukti")
    assert chat.last_text == "Pasiūlymas atšauktas. Niekas neišsiųsta."
    assert await db.count(Proposal) == 0
    await chat.press(chat.last.message_id, "prx:s")
    assert toast(chat) == STALE
    assert await db.count(Proposal) == 0


async def test_a_restart_in_the_middle_keeps_the_draft(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(5004, "Marius")
    await onboard(chat)
    await to_text_step(chat)
    await chat.send(TEXT)
    await chat.send_photo()
    await harness.restart()
    await chat.send_photo()
    assert chat.reply_texts == ["Nuotrauka pridėta (2 iš 5)."]
    await chat.click("Baigti")
    await chat.click("Ne, tik slapyvardį")
    await chat.click("Pateikti")
    [saved] = await load(db)
    assert saved.text == TEXT and len(saved.photos) == 2
    assert saved.reference in chat.last_text


async def test_the_same_update_twice_is_handled_once(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(5005, "Eglė")
    await onboard(chat)
    await to_text_step(chat)
    update_id = harness.api.next_update_id()
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 9_000,
            "date": 1_790_000_000,
            "text": TEXT,
            "chat": {"id": 5005, "type": "private", "first_name": "Eglė"},
            "from": {"id": 5005, "is_bot": False, "first_name": "Eglė"},
        },
    }
    before = len(chat.messages)
    await harness.api.deliver_raw(update)
    await harness.handled(update_id)
    await harness.api.deliver_raw(update)
    await harness.handled(update_id, times=2)
    answers = [m.text for m in chat.messages[before:]]
    assert len(answers) == 1 and answers[0].startswith("Galite pridėti iki 5 nuotraukų")


async def test_blocked_and_daily_limit_refusals(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(5006, "Tomas")
    await onboard(chat)
    resident = await db.resident(5006)
    assert resident is not None

    # Blocked while the draft waits at the summary: Pateikti is refused with the reason.
    await to_text_step(chat)
    await chat.send(TEXT)
    await to_summary(chat)
    async with db.sessions() as session, session.begin():
        await proposals.block_resident(session, resident.id, ADMIN_ID, "Įžeidžiantys tekstai")
    await chat.click("Pateikti")
    assert chat.last_text == (
        "Šiuo metu negalite teikti pasiūlymų. Priežastis: Įžeidžiantys tekstai"
    )
    await chat.tap_menu("Pateikti pasiūlymą")
    assert chat.reply_texts == [
        "Šiuo metu negalite teikti pasiūlymų. Priežastis: Įžeidžiantys tekstai"
    ]
    assert chat.last.button_texts() == ["Mano pasiūlymai"]
    assert await db.count(Proposal) == 0
    async with db.sessions() as session, session.begin():
        await proposals.unblock_resident(session, resident.id, ADMIN_ID)

    # Three today, the fourth is refused politely with the number.
    for _ in range(3):
        await submit_quickly(chat)
    assert await db.count(Proposal) == 3
    await chat.tap_menu("Pateikti pasiūlymą")
    assert chat.reply_texts == [
        "Pasiekėte dienos ribą: galima pateikti 3 pasiūlymus per dieną. "
        "Pabandykite dar kartą rytoj."
    ]
    assert await db.count(Proposal) == 3


async def test_a_resident_not_registered_cannot_start(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(5007, "Saulė")
    await chat.send("Pateikti pasiūlymą")
    # Not registered: led to the privacy notice and consent, no proposal is started.
    assert chat.reply_texts[-1].endswith("Ar sutinkate?")
    assert not any("temą" in text for text in chat.reply_texts)
    await chat.send("/start")
    await chat.press(chat.last.message_id, "pry:-1")
    assert chat.last_text == "Pirmiausia užbaikite registraciją: paspauskite /start."
    assert await db.count(Proposal) == 0


async def test_my_proposals_with_statuses_history_and_pages(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(5008, "Aldona")
    await onboard(chat)
    await chat.tap_menu("Pateikti pasiūlymą")
    await chat.click("Mano pasiūlymai")
    assert chat.reply_texts == ["Dar nepateikėte nė vieno pasiūlymo."]

    await submit_quickly(chat)
    first = (await load(db))[0]
    second_id = await service_proposal(db, 5008, "Antras pasiūlymas apie jaunimo erdvę.")
    async with db.sessions() as session, session.begin():
        for to, reason in (
            (ProposalStatus.IN_REVIEW, None),
            (ProposalStatus.REJECTED, "Tai ne savivaldybės sritis."),
        ):
            change = await proposals.change_status(
                session, first.id, ADMIN_ID, to, admin_ids=[ADMIN_ID], reason=reason
            )
            assert change.to_status is to
        await proposals.change_status(
            session, second_id, ADMIN_ID, ProposalStatus.FORWARDED, admin_ids=[ADMIN_ID]
        )
    await chat.tap_menu("Pateikti pasiūlymą")
    await chat.click("Mano pasiūlymai")
    [text] = chat.reply_texts
    assert text.startswith("Jūsų pasiūlymai (2), naujausi viršuje:")
    second_ref = f"PAG-{YEAR}-0002"
    assert text.index(second_ref) < text.index(first.reference)  # newest first
    assert f"{second_ref} – Jaunimas: perduotas savivaldybei" in text
    assert f"{first.reference} – Infrastruktūra: atmestas" in text
    assert ": pateiktas" in text and ": peržiūrimas" in text
    assert "Priežastis: Tai ne savivaldybės sritis." in text
    assert re.search(rf"{YEAR} m\. \w+ \d+ d\., \d\d:\d\d: pateiktas", text)

    for number in range(5):
        await service_proposal(db, 5008, f"Dar vienas pasiūlymas numeris {number}.")
    await chat.click("Mano pasiūlymai")
    page = chat.last
    assert page.text.startswith("Jūsų pasiūlymai (7)")
    assert page.button_texts() == ["Senesni »"]
    assert first.reference not in page.text
    await chat.click("Senesni »", page)
    older = chat.api.message(chat.chat_id, page.message_id)
    assert first.reference in older.text and second_ref in older.text
    assert older.button_texts() == ["« Naujesni"]
    # A forged page far away shows the last page.
    await chat.press(page.message_id, "pry:99")
    assert first.reference in chat.api.message(chat.chat_id, page.message_id).text


GROUP = -100_555


async def test_the_card_reaches_the_moderators_and_the_resident_answers_them(
    harness: BotHarness, db: Database
) -> None:
    moderators = harness.group(GROUP, "Pagėgių moderatoriai", ADMIN_ID, first_name="Tomas")
    await moderators.send("/bind PAG")
    chat = harness.chat(5009, "Ona")
    await onboard(chat)
    await to_text_step(chat)
    await chat.send(TEXT)
    await chat.send_photo()
    await chat.click("Baigti")
    await chat.click("Ne, tik slapyvardį")
    await chat.click("Pateikti")
    [saved] = await load(db)
    reference = saved.reference
    assert chat.last_text.startswith(f"Ačiū! Jūsų pasiūlymo numeris {reference}.")
    assert "Moderatoriai jį peržiūrės" in chat.last_text
    # The card (after the commit), with the photo as a reply to it.
    assert saved.card_chat_id == GROUP and saved.card_message_id is not None
    card = chat.api.message(GROUP, saved.card_message_id)
    assert reference in card.text and TEXT in card.text
    assert "Gyventojas #" in card.text and "Ona" not in card.text
    photos = [m for m in chat.api.bot_messages(GROUP) if m.reply_to_message_id == card.message_id]
    assert len(photos) == 1

    # Asked for information, the resident answers with a Telegram reply.
    await moderators.click("Paprašyti informacijos")
    await moderators.send("Prie kurio mokyklos įėjimo?")
    question = chat.last
    assert "Prie kurio mokyklos įėjimo?" in question.text
    await chat.send("Prie pagrindinio įėjimo.", reply_to_message_id=question.message_id)
    assert chat.reply_texts == [f"Jūsų atsakymą perdavėme moderatoriams (pasiūlymas {reference})."]
    relayed = chat.api.bot_messages(GROUP)[-1]
    assert relayed.text == f"{reference} – gyventojas atsako: Prie pagrindinio įėjimo."
    assert relayed.reply_to_message_id == card.message_id
    assert (await load(db))[0].status is ProposalStatus.IN_REVIEW

    # With no question waiting, plain text is not relayed.
    in_group = len(chat.api.bot_messages(GROUP))
    await chat.send("Ar jau žinote ką nors?")
    assert not any("perdavėme" in text for text in chat.reply_texts)
    assert len(chat.api.bot_messages(GROUP)) == in_group

    # Asked again: the next typed text is the answer, without replying.
    await moderators.click("Paprašyti informacijos")
    await moderators.send("Kokio ilgio gatvės atkarpa?")
    await chat.send("Apie du šimtus metrų.")
    assert chat.reply_texts == [f"Jūsų atsakymą perdavėme moderatoriams (pasiūlymas {reference})."]
    assert chat.api.bot_messages(GROUP)[-1].text.endswith("Apie du šimtus metrų.")

    await chat.tap_menu("Pateikti pasiūlymą")
    await chat.click("Mano pasiūlymai")
    history = chat.last_text
    assert f"{reference} – Infrastruktūra: peržiūrimas" in history
    assert ": laukiama informacijos" in history
    assert ": moderatoriai jums parašė" in history
    assert ": atsakėte moderatoriams" in history
