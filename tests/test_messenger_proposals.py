"""Proposals from Messenger residents, end to end: the dialogue on Messenger (the local Graph
API), the card and the photos in the moderators' Telegram group (the local Bot API), the
moderators' statuses and questions back on Messenger, the answers back to the card, the
24-hour window, Mano pasiūlymai."""

from __future__ import annotations

from datetime import timedelta

from bot.localapi.server import StoredMessage
from models import (
    Channel,
    FsmRecord,
    HeldNotice,
    Municipality,
    Proposal,
    ProposalMessage,
    ProposalPhoto,
    ProposalStatus,
    ResidentAccount,
    utcnow,
)
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Chat
from tests.support.messenger import MessengerHarness, MessengerUser

GROUP = -100_800
RASA = 3201  # moderator of Pagėgiai
TEXT = "Įrengti suoliukus prie bibliotekos, nes vyresni žmonės neturi kur atsisėsti."
PNG_1 = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00\x00\x01\x00\x00\x00\x00\xc0" + b"1"
PNG_2 = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x00\x00\x02\x00\x00\x00\x01\x00" + b"2"
STALE = "Šis mygtukas nebegalioja."


async def _moderators(harness: BotHarness) -> Chat:
    """The admin binds the group to Pagėgiai and makes Rasa its moderator; Rasa's view."""
    await harness.chat(ADMIN_ID, "Tomas").send(f"/moderator_add PAG {RASA}")
    admin = harness.group(GROUP, "Pagėgių moderatoriai", ADMIN_ID, first_name="Tomas")
    await admin.send("/bind PAG")
    return harness.group(GROUP, "Pagėgių moderatoriai", member_id=RASA, first_name="Rasa")


async def _proposals(db: Database) -> list[Proposal]:
    return list(await db.all(Proposal))


def _card(rasa: Chat, proposal: Proposal) -> StoredMessage:
    return next(m for m in rasa.api.messages(GROUP) if m.message_id == proposal.card_message_id)


def _fits(messenger: MessengerHarness, user: MessengerUser) -> None:
    assert messenger.graph.violations == 0, messenger.graph.violation_messages
    for message in user.messages:
        assert len(message.quick_replies) <= 13
        for title, _payload in [*message.quick_replies, *message.buttons]:
            assert 0 < len(title) <= 20, title


async def _up_to_text(ona: MessengerUser) -> None:
    await ona.tap("Pateikti pasiūlymą")
    assert ona.reply_texts == ["Kam skirtas jūsų pasiūlymas? Pasirinkite temą."]
    assert "Infrastruktūra" in ona.quick_reply_titles()
    await ona.tap("Infrastruktūra")
    assert ona.quick_reply_titles() == ["Pagėgių sav.", "Kita savivaldybė"]
    await ona.tap("Pagėgių sav.")
    assert ona.quick_reply_titles() == ["Praleisti"]
    await ona.send("Vilniaus g. 9")
    assert ona.reply_texts == ["Aprašykite savo pasiūlymą: nuo 20 iki 2000 simbolių."]


async def test_submit_with_photos_card_statuses_question_and_answers(
    messenger: MessengerHarness, db: Database
) -> None:
    rasa = await _moderators(messenger.harness)
    ona = messenger.user("8101")
    await ona.onboard("PAG")
    await _up_to_text(ona)

    await ona.send("Per trumpa")
    assert ona.reply_texts == ["Aprašymas per trumpas (10 simb.): parašykite bent 20."]
    await ona.send("a" * 2001)
    assert ona.reply_texts[0].startswith("Aprašymas per ilgas (2001 simb.)")
    await ona.send(TEXT)
    assert ona.quick_reply_titles() == ["Be nuotraukų"]
    await ona.send_image(PNG_1, "a.png")
    assert ona.reply_texts == ["Nuotrauka pridėta (1 iš 5)."]
    await ona.send_image(PNG_2, "b.png")
    assert ona.reply_texts == ["Nuotrauka pridėta (2 iš 5)."]
    assert ona.quick_reply_titles() == ["Baigti"]
    await ona.tap("Baigti")
    assert ona.quick_reply_titles() == ["Tik slapyvardis"]
    await ona.send("Ona Petraitė")
    summary = ona.reply_texts[0]
    assert "Nuotraukos: 2" in summary and TEXT in summary
    assert "Moderatoriai matys jūsų vardą: Ona Petraitė" in summary
    assert ona.quick_reply_titles() == ["Pateikti", "Taisyti", "Atšaukti"]
    assert not await _proposals(db)

    await ona.tap("Pateikti")
    [proposal] = await _proposals(db)
    reference = proposal.reference
    assert reference.startswith("PAG-") and reference in ona.reply_texts[0]
    assert proposal.channel is Channel.MESSENGER and proposal.text == TEXT
    assert proposal.display_name == "Ona Petraitė" and proposal.place_text == "Vilniaus g. 9"
    # A second tap on the same "Pateikti" submits nothing more.
    await ona.send("Pateikti", quick_reply="proposal:confirm:submit")
    assert STALE in ona.reply_texts[0]
    assert len(await _proposals(db)) == 1

    # The card in the moderators' Telegram group: the author on Messenger, the photos below.
    assert proposal.card_message_id is not None
    card = _card(rasa, proposal)
    assert "Autorius: Ona Petraitė (Messenger)" in card.text
    assert "2 nuotraukos žemiau" in card.text
    photos = [m for m in rasa.api.messages(GROUP) if m.reply_to_message_id == card.message_id]
    assert [m.kind for m in photos] == ["photo", "photo"]
    assert [m.photo_bytes for m in photos] == [PNG_1, PNG_2]
    stored = sorted(await db.all(ProposalPhoto), key=lambda p: p.position)
    assert [p.file_id for p in stored] == [m.file_id for m in photos]  # Telegram's now

    # A status change reaches the Messenger resident.
    await rasa.click("Peržiūrėti")
    assert ona.last_text == f"Jūsų pasiūlymo {reference} būsena dabar: peržiūrimas."

    # The moderators' question, and the resident answers just by writing.
    await rasa.click("Paprašyti informacijos")
    await rasa.send("Prie kurio bibliotekos įėjimo?")
    question = ona.messages[-1]
    assert question.text is not None
    assert "Moderatorius: Prie kurio bibliotekos įėjimo?" in question.text
    assert "Rasa" not in question.text
    assert question.buttons == [("Atsakyti", f"proposal:reply:{proposal.id}")]
    await ona.send("Prie pagrindinio įėjimo.")
    assert ona.reply_texts == [f"Jūsų atsakymą perdavėme moderatoriams (pasiūlymas {reference})."]
    answer = rasa.api.bot_messages(GROUP)[-1]
    assert answer.text == f"{reference} – gyventojas atsako: Prie pagrindinio įėjimo."
    assert answer.reply_to_message_id == proposal.card_message_id
    [after] = await _proposals(db)
    assert after.status is ProposalStatus.IN_REVIEW

    # A moderator's reply to the card comes with "Atsakyti"; the resident taps it, writes.
    await rasa.send("Ačiū, perduosime.", reply_to_message_id=proposal.card_message_id)
    assert rasa.reply_texts == ["Išsiųsta gyventojui."]
    note = ona.messages[-1]
    assert note.text is not None and "Moderatorius: Ačiū, perduosime." in note.text
    [(title, payload)] = note.buttons
    assert title == "Atsakyti"
    await ona.postback(payload, title)
    assert ona.reply_texts == [f"Parašykite atsakymą moderatoriams dėl pasiūlymo {reference}."]
    await ona.send("Labai ačiū!")
    assert rasa.api.bot_messages(GROUP)[-1].text == (
        f"{reference} – gyventojas atsako: Labai ačiū!"
    )
    relayed = await db.all(ProposalMessage, ProposalMessage.proposal_id == proposal.id)
    assert len(relayed) == 4

    # Plain text afterwards is not an answer any more (nothing waits): the menu answers.
    before = len(rasa.api.bot_messages(GROUP))
    await ona.send("Kas naujo?")
    assert len(rasa.api.bot_messages(GROUP)) == before

    # Mano pasiūlymai: the status and the dated history.
    await ona.postback("myproposals", "Mano pasiūlymai")
    mine = ona.reply_texts[0]
    assert f"{reference} – Infrastruktūra: peržiūrimas" in mine
    assert mine.startswith("Jūsų pasiūlymai (1), naujausi viršuje:")
    assert ": pateiktas" in mine and ": peržiūrimas" in mine
    assert ": moderatoriai jums parašė" in mine and ": atsakėte moderatoriams" in mine
    _fits(messenger, ona)


async def test_wrong_inputs_keep_the_draft_and_stale_buttons_change_nothing(
    messenger: MessengerHarness, db: Database
) -> None:
    await _moderators(messenger.harness)
    ona = messenger.user("8102")
    await ona.onboard("PAG")
    await ona.tap("Pateikti pasiūlymą")
    await ona.send("Labas")  # a word where a topic is asked
    assert "Infrastruktūra" in ona.quick_reply_titles()
    await ona.tap("Infrastruktūra")
    await ona.tap("Kita savivaldybė")
    assert ona.quick_reply_titles()[-1] == "Daugiau"
    await ona.send("Biržai")
    assert ona.quick_reply_titles() == ["Praleisti"]
    await ona.send_location(55.13, 21.91)
    await ona.send_image(PNG_1)  # a photo where the text is asked
    assert ona.reply_texts == ["Parašykite pasiūlymą tekstu."]
    await ona.send(TEXT)
    for number in range(1, 6):
        await ona.send_image(PNG_1, f"{number}.png")
    assert ona.reply_texts == ["Nuotrauka pridėta (5 iš 5)."]
    await ona.send_image(PNG_2, "6.png")
    assert ona.reply_texts[0].startswith("Galima pridėti tik")
    await ona._act(attachments=[{"type": "audio", "payload": {"url": "https://x.invalid/a"}}])
    assert ona.reply_texts == ["Atsiųskite nuotrauką arba paspauskite mygtuką."]
    assert ona.quick_reply_titles() == ["Baigti"]
    await ona.tap("Baigti")
    await ona.tap("Tik slapyvardis")
    summary = ona.reply_texts[0]
    assert "Nuotraukos: 5" in summary and "Vieta žemėlapyje: pridėta" in summary
    assert "Savivaldybė: Biržų r." in summary
    assert "Moderatoriai matys tik slapyvardį." in summary
    # The draft is in the database (it survives a restart).
    [record] = await db.all(FsmRecord, FsmRecord.key == "messenger:8102")
    assert record.state == "proposal:confirm" and record.data["proposal"]["text"] == TEXT
    assert len(record.data["proposal"]["photos"]) == 5
    # A button of an earlier step is no longer active; the draft stays.
    await ona.postback("proposal:photos:done", "Baigti")
    assert STALE in ona.reply_texts[0]
    await ona.postback("proposal:topic:infrastructure", "Infrastruktūra")
    assert STALE in ona.reply_texts[0]
    await ona.postback("proposal:confirm:cancel", "Atšaukti")
    assert ona.reply_texts[0].startswith("Pasiūlymas atšauktas. Niekas neišsiųsta.")
    assert not await _proposals(db)

    # Started again and submitted: the location and Biržai (no moderators' chat).
    await ona.tap("Pateikti pasiūlymą")
    await ona.tap("Infrastruktūra")
    await ona.tap("Kita savivaldybė")
    await ona.send("Biržai")
    await ona.send_location(56.2, 24.75)
    await ona.send(TEXT)
    await ona.tap("Be nuotraukų")
    await ona.tap("Tik slapyvardis")
    await ona.tap("Pateikti")
    [proposal] = await _proposals(db)
    [brz] = await db.all(Municipality, Municipality.code == "BRZ")
    assert proposal.municipality_id == brz.id and proposal.anonymous
    assert (proposal.latitude, proposal.longitude) == (56.2, 24.75)
    assert proposal.delivered_at is None and proposal.reference in ona.reply_texts[0]
    _fits(messenger, ona)


async def test_outside_the_window_a_status_waits_and_blocked_residents_are_refused(
    messenger: MessengerHarness, db: Database
) -> None:
    rasa = await _moderators(messenger.harness)
    ona = messenger.user("8103")
    await ona.onboard("PAG")
    await _up_to_text(ona)
    await ona.send(TEXT)
    await ona.tap("Be nuotraukų")
    await ona.tap("Tik slapyvardis")
    await ona.tap("Pateikti")
    [proposal] = await _proposals(db)

    messenger.graph.set_last_inbound("8103", utcnow() - timedelta(hours=25))
    async with db.sessions() as session, session.begin():
        account = (await db.all(ResidentAccount, ResidentAccount.external_id == "8103"))[0]
        row = await session.get(ResidentAccount, account.id)
        assert row is not None
        row.last_inbound_at = utcnow() - timedelta(hours=25)
    seen = len(ona.messages)
    await rasa.click("Peržiūrėti")
    assert len(ona.messages) == seen
    [held] = await db.all(HeldNotice)
    assert held.text == f"Jūsų pasiūlymo {proposal.reference} būsena dabar: peržiūrimas."

    await ona.send("Labas")
    assert ona.reply_texts[0] == held.text
    assert not await db.all(HeldNotice)

    # Blocked by the moderators: a new proposal is refused with the reason.
    await rasa.click("Blokuoti autorių")
    await rasa.send("Įžeidžiantys pasiūlymai.")
    await ona.postback("proposal:new", "Pateikti pasiūlymą")
    assert ona.reply_texts[-1] == (
        "Šiuo metu negalite teikti pasiūlymų. Priežastis: Įžeidžiantys pasiūlymai."
    )
    _fits(messenger, ona)
