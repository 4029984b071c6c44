"""The moderators' side of proposals, end to end: the card in the municipality's moderators'
group, its buttons, the relay both ways, authorization, waiting for a chat, blocking and
erasure. Submissions are made through the proposals service and delivered the way the
resident's dialogue does after its commit (:func:`proposal_cards.after_submission`)."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.telegram import proposal_cards
from bot.channels.telegram.proposal_callbacks import ProposalStatusCb
from bot.localapi.server import StoredMessage
from bot.services import proposal_relay, proposals
from bot.services.proposals import PhotoRef, ProposalSpec, SubmitRefusal
from models import (
    Municipality,
    Proposal,
    ProposalAudit,
    ProposalBlock,
    ProposalMessage,
    ProposalStatus,
    Resident,
)
from tests.support.db import Database
from tests.support.harness import ADMIN_ID, BotHarness, Chat
from tests.support.residents import add_residents

GROUP = -100_700
OTHER_GROUP = -100_701
RASA = 3101  # moderator of Pagėgiai
JONAS = 3102  # moderator of Biržai
PETRAS = 3103  # a resident who is a member of the group
ONA = 120_001  # the resident who proposes
TEXT = "Įrengti suoliukus prie bibliotekos, nes vyresni žmonės neturi kur atsisėsti."


async def _staff(
    harness: BotHarness, *, bind: bool = True, is_forum: bool = False
) -> tuple[Chat, Chat]:
    """The admin binds the group to Pagėgiai (unless not ``bind``) and makes Rasa its
    moderator and Jonas a moderator of Biržai; returns the admin's and Rasa's group chats."""
    admin_dm = harness.chat(ADMIN_ID, "Tomas")
    await admin_dm.send(f"/moderator_add PAG {RASA}")
    await admin_dm.send(f"/moderator_add BRZ {JONAS}")
    admin = harness.group(
        GROUP, "Pagėgių moderatoriai", ADMIN_ID, first_name="Tomas", is_forum=is_forum
    )
    if bind:
        await admin.send("/bind PAG")
    rasa = harness.group(GROUP, "Pagėgių moderatoriai", member_id=RASA, first_name="Rasa")
    return admin, rasa


async def _resident(harness: BotHarness, db: Database) -> Chat:
    await add_residents(db.sessions, harness.api, 1, first_chat_id=ONA)
    return harness.chat(ONA, "Ona")


async def _photo_ids(resident: Chat, count: int) -> list[str]:
    """Photos the resident sent (their file ids are what a submission keeps)."""
    ids = []
    for _ in range(count):
        await resident.send_photo()
        message = next(
            m for m in reversed(resident.api.messages(resident.chat_id)) if not m.from_bot
        )
        assert message.file_id is not None
        ids.append(message.file_id)
    return ids


async def _submit(
    harness: BotHarness,
    db: Database,
    *,
    photos: list[str] = (),  # type: ignore[assignment]
    point: tuple[float, float] | None = None,
    anonymous: bool = False,
) -> Proposal:
    """Ona submits a proposal; the card is delivered after the commit."""
    async with db.sessions() as session, session.begin():
        resident = await session.scalar(select(Resident).where(Resident.external_id == str(ONA)))
        pag = await session.scalar(select(Municipality).where(Municipality.code == "PAG"))
        assert resident is not None and pag is not None
        result = await proposals.submit(
            session,
            resident,
            ProposalSpec(
                municipality_id=pag.id,
                category="infrastructure",
                text=TEXT,
                place_text="Vilniaus g. 9",
                latitude=point[0] if point else None,
                longitude=point[1] if point else None,
                photos=tuple(PhotoRef(file_id) for file_id in photos),
                anonymous=anonymous,
                display_name=None if anonymous else "Ona",
            ),
        )
        assert result.proposal is not None
        proposal_id = result.proposal.id
    app = harness.app
    assert app is not None
    await proposal_cards.after_submission(
        app.bot, app.session_factory, app.i18n, app.settings, proposal_id
    )
    return await _proposal(db, proposal_id)


async def _proposal(db: Database, proposal_id: int) -> Proposal:
    async with db.sessions() as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None
        return proposal


def _card_message(chat: Chat, proposal: Proposal) -> StoredMessage:
    return next(
        m for m in chat.api.messages(chat.chat_id) if m.message_id == proposal.card_message_id
    )


def _card(chat: Chat, proposal: Proposal) -> str:
    return _card_message(chat, proposal).text


def _buttons(chat: Chat, proposal: Proposal) -> list[str]:
    return _card_message(chat, proposal).button_texts()


async def test_the_card_shows_the_proposal_with_photos_and_location(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    photos = await _photo_ids(resident, 2)
    proposal = await _submit(harness, db, photos=photos, point=(55.13, 21.91))

    assert proposal.delivered_at is not None and proposal.card_chat_id == GROUP
    messages = rasa.api.bot_messages(GROUP)
    card = _card_message(rasa, proposal)
    assert proposal.reference in card.text
    assert "Infrastruktūra" in card.text
    assert "Savivaldybė: Pagėgių savivaldybė" in card.text
    assert "Vieta: Vilniaus g. 9" in card.text
    assert "Taškas žemėlapyje: 55.13000, 21.91000" in card.text
    assert TEXT in card.text
    assert "Autorius: Ona (Telegram)" in card.text
    assert "Būsena: naujas" in card.text
    assert "2 nuotraukos žemiau" in card.text
    assert "Pateiktas – " in card.text
    labels = card.button_texts()
    assert labels == [
        "Peržiūrėti",
        "Paprašyti informacijos",
        "Perduoti savivaldybei",
        "Priimti",
        "Atmesti",
        "Blokuoti autorių",
    ]
    replies = [m for m in messages if m.reply_to_message_id == card.message_id]
    assert [m.kind for m in replies] == ["photo", "photo", "location"]
    assert replies[2].location == (55.13, 21.91)


async def test_every_status_by_button_and_the_resident_is_told(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    proposal = await _submit(harness, db, anonymous=True)
    reference = proposal.reference
    assert f"Autorius: Gyventojas #{proposal.pseudonym} (Telegram)" in _card(rasa, proposal)

    steps = [
        ("Peržiūrėti", ProposalStatus.IN_REVIEW, "peržiūrimas"),
        ("Perduoti savivaldybei", ProposalStatus.FORWARDED, "perduotas savivaldybei"),
        ("Priimti", ProposalStatus.ACCEPTED, "priimtas"),
        ("Įgyvendinta", ProposalStatus.IMPLEMENTED, "įgyvendintas"),
    ]
    for label, status, name in steps:
        await rasa.click(label)
        assert rasa.callback_answer() is not None
        assert rasa.callback_answer()["text"] == f"Atlikta: pasiūlymas dabar „{name}“."  # type: ignore[index]
        assert (await _proposal(db, proposal.id)).status is status
        assert resident.last_text == f"Jūsų pasiūlymo {reference} būsena dabar: {name}."
        card = _card(rasa, proposal)
        assert f"Būsena: {name}" in card
        assert f"{name[:1].upper() + name[1:]} – Rasa, " in card
    assert _buttons(rasa, proposal) == ["Blokuoti autorių"]
    async with db.sessions() as session:
        log = await proposals.audit_log(session, proposal.id)
    assert [(e.from_status, e.to_status, e.actor_user_id) for e in log[2:]] == [
        (ProposalStatus.NEW, ProposalStatus.IN_REVIEW, RASA),
        (ProposalStatus.IN_REVIEW, ProposalStatus.FORWARDED, RASA),
        (ProposalStatus.FORWARDED, ProposalStatus.ACCEPTED, RASA),
        (ProposalStatus.ACCEPTED, ProposalStatus.IMPLEMENTED, RASA),
    ]


async def test_rejecting_needs_a_reason_and_the_resident_gets_it(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    proposal = await _submit(harness, db)
    seen = len(resident.messages)

    await rasa.click("Atmesti")
    assert rasa.last_text.startswith(
        f"Rasa, kita žinute parašykite, kodėl atmetate {proposal.reference}"
    )
    assert (await _proposal(db, proposal.id)).status is ProposalStatus.NEW
    await rasa.send_sticker()
    assert rasa.reply_texts == ["Parašykite tekstu arba spauskite /cancel."]
    await rasa.send("/cancel")
    assert rasa.reply_texts == ["Atšaukta, niekas nepakeista."]
    assert (await _proposal(db, proposal.id)).status is ProposalStatus.NEW
    assert len(resident.messages) == seen

    await rasa.click("Atmesti")
    await rasa.send("Biblioteka jau turi suoliukus, jie pastatyti pernai.")
    assert rasa.reply_texts == ["Atlikta: pasiūlymas dabar „atmestas“."]
    stored = await _proposal(db, proposal.id)
    assert stored.status is ProposalStatus.REJECTED
    assert stored.rejection_reason == "Biblioteka jau turi suoliukus, jie pastatyti pernai."
    assert resident.last_text == (
        f"Jūsų pasiūlymas {proposal.reference} atmestas. Priežastis: "
        "Biblioteka jau turi suoliukus, jie pastatyti pernai."
    )
    card = _card(rasa, proposal)
    assert "Būsena: atmestas" in card
    assert "Atmestas – Rasa, " in card and "„Biblioteka jau turi suoliukus" in card


async def test_asking_for_information_and_the_relay_both_ways(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    proposal = await _submit(harness, db)
    reference = proposal.reference

    await rasa.click("Paprašyti informacijos")
    await rasa.send("Prie kurio bibliotekos įėjimo?")
    assert rasa.reply_texts == ["Klausimas išsiųstas gyventojui."]
    assert (await _proposal(db, proposal.id)).status is ProposalStatus.INFO_REQUESTED
    assert resident.last_text == (
        f"Moderatoriams reikia daugiau informacijos apie Jūsų pasiūlymą {reference}.\n"
        "Moderatorius: Prie kurio bibliotekos įėjimo?\n\n"
        "Norėdami atsakyti, atsakykite į šią žinutę."
    )
    assert "Rasa" not in resident.last_text
    assert "Laukiama informacijos – Rasa" in _card(rasa, proposal)

    # The resident answers (what the resident's dialogue records), it comes back as a reply
    # to the card, and the proposal goes back to review.
    app = harness.app
    assert app is not None
    async with db.sessions() as session, session.begin():
        found = await proposal_relay.open_conversation(
            session,
            proposal.resident_id,
            reply_to_message_id=str(resident.last.message_id),  # type: ignore[arg-type]
        )
        assert found is not None and found.id == proposal.id
        relayed = await proposal_relay.record_resident_reply(session, found, "Prie pagrindinio.")
        message_id = relayed.message.id
    assert await proposal_cards.relay_resident_reply(
        app.bot, app.session_factory, app.i18n, app.settings, message_id
    )
    answer = rasa.api.bot_messages(GROUP)[-1]
    assert answer.text == f"{reference} – gyventojas atsako: Prie pagrindinio."
    assert answer.reply_to_message_id == proposal.card_message_id
    assert "Būsena: peržiūrimas" in _card(rasa, proposal)

    # A moderator's reply to the resident's answer reaches the resident from "moderatorius".
    await rasa.send("Ačiū, perduosime.", reply_to_message_id=answer.message_id)
    assert rasa.reply_texts == ["Išsiųsta gyventojui."]
    assert resident.last_text == (
        f"Žinutė dėl Jūsų pasiūlymo {reference}.\nModeratorius: Ačiū, perduosime.\n\n"
        "Norėdami atsakyti, atsakykite į šią žinutę."
    )
    # ... and so does a reply to the card itself.
    await rasa.send("Dar vienas klausimas.", reply_to_message_id=proposal.card_message_id)
    assert "Moderatorius: Dar vienas klausimas." in resident.last_text
    stored = await db.all(ProposalMessage, ProposalMessage.proposal_id == proposal.id)
    assert all(m.resident_message_id for m in stored if m.moderator_user_id == RASA)
    assert len(stored) == 4


async def test_only_moderators_of_the_municipality_and_admins_act(
    harness: BotHarness, db: Database
) -> None:
    admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    proposal = await _submit(harness, db)
    seen = len(resident.messages)
    jonas = harness.group(GROUP, "Pagėgių moderatoriai", member_id=JONAS, first_name="Jonas")
    petras = harness.group(GROUP, "Pagėgių moderatoriai", member_id=PETRAS, first_name="Petras")
    refusal = "Atsiprašome, tai gali daryti tik šios savivaldybės moderatoriai ir administratoriai."
    for outsider in (jonas, petras):
        await outsider.click("Peržiūrėti")
        assert outsider.callback_answer()["text"] == refusal  # type: ignore[index]
        await outsider.click("Atmesti")
        assert outsider.callback_answer()["text"] == refusal  # type: ignore[index]
        await outsider.send("Labas", reply_to_message_id=proposal.card_message_id)
        assert outsider.replies == []
    assert (await _proposal(db, proposal.id)).status is ProposalStatus.NEW
    assert len(resident.messages) == seen
    assert await db.count(ProposalMessage) == 0

    await admin.click("Peržiūrėti")
    assert (await _proposal(db, proposal.id)).status is ProposalStatus.IN_REVIEW
    assert "Peržiūrimas – Tomas, " in _card(rasa, proposal)


async def test_stale_forged_and_double_taps_change_nothing(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    proposal = await _submit(harness, db)
    card_id = proposal.card_message_id
    assert card_id is not None
    old_data = rasa.message_with_button("Priimti").button_data("Priimti")

    await rasa.click("Peržiūrėti")
    told = len(resident.messages)
    # a second tap on the same (old) button: already so
    await rasa.press(
        card_id,
        ProposalStatusCb(
            proposal=proposal.id, to=ProposalStatus.IN_REVIEW, expected=ProposalStatus.NEW
        ).pack(),
    )
    assert rasa.callback_answer()["text"] == "Pasiūlymas jau „peržiūrimas“."  # type: ignore[index]
    # the card's old "Priimti" was drawn for "naujas": stale
    await rasa.press(card_id, old_data)
    assert rasa.callback_answer()["text"].startswith("Ši kortelė buvo pasenusi")  # type: ignore[index]
    # forged: a move the status machine does not allow, and a proposal that does not exist
    await rasa.press(
        card_id,
        ProposalStatusCb(
            proposal=proposal.id, to=ProposalStatus.IMPLEMENTED, expected=ProposalStatus.IN_REVIEW
        ).pack(),
    )
    assert rasa.callback_answer()["text"].startswith("Ši kortelė buvo pasenusi")  # type: ignore[index]
    await rasa.press(
        card_id,
        ProposalStatusCb(
            proposal=999_999, to=ProposalStatus.ACCEPTED, expected=ProposalStatus.NEW
        ).pack(),
    )
    assert rasa.callback_answer()["text"] == "Šio pasiūlymo nebėra."  # type: ignore[index]
    await rasa.press(card_id, "prt:garbage")
    assert (await _proposal(db, proposal.id)).status is ProposalStatus.IN_REVIEW
    assert len(resident.messages) == told
    assert await db.count(ProposalAudit, ProposalAudit.proposal_id == proposal.id) == 3


async def test_unbound_municipality_waits_admins_are_told_and_bind_delivers(
    harness: BotHarness, db: Database
) -> None:
    admin, rasa = await _staff(harness, bind=False)
    await _resident(harness, db)
    proposal = await _submit(harness, db)
    assert proposal.delivered_at is None
    admin_dm = harness.chat(ADMIN_ID, "Tomas")
    assert admin_dm.last_text == (
        f"{proposal.reference} laukia: Pagėgių savivaldybė neturi moderatorių pokalbio, "
        "susiekite jį su /bind PAG."
    )
    assert rasa.api.bot_messages(GROUP) == []

    await admin.send("/bind PAG")
    delivered = await _proposal(db, proposal.id)
    assert delivered.delivered_at is not None and delivered.card_chat_id == GROUP
    assert proposal.reference in _card(rasa, delivered)
    # binding again delivers nothing twice
    count = len(rasa.api.bot_messages(GROUP))
    await admin.send("/bind PAG")
    assert len(rasa.api.bot_messages(GROUP)) == count + 1  # only the "already" answer


async def test_blocking_and_unblocking_the_author(harness: BotHarness, db: Database) -> None:
    _admin, rasa = await _staff(harness)
    await _resident(harness, db)
    proposal = await _submit(harness, db, anonymous=True)

    await rasa.click("Blokuoti autorių")
    await rasa.send("Siunčia reklamą.")
    assert rasa.reply_texts[0] == f"{proposal.reference} autoriui uždrausta teikti pasiūlymus."
    blocks = await db.all(ProposalBlock)
    assert [(b.reason, b.blocked_by, b.proposal_id, b.lifted_at) for b in blocks] == [
        ("Siunčia reklamą.", RASA, proposal.id, None)
    ]
    card = _card(rasa, proposal)
    assert "Autoriui uždrausta teikti pasiūlymus." in card
    # the resident is refused by the service while blocked
    async with db.sessions() as session, session.begin():
        resident = await session.scalar(select(Resident).where(Resident.external_id == str(ONA)))
        assert resident is not None
        result = await proposals.submit(
            session,
            resident,
            ProposalSpec(municipality_id=proposal.municipality_id, category="other", text=TEXT),
        )
        assert result.refusal is SubmitRefusal.BLOCKED and result.block_reason == "Siunčia reklamą."

    await rasa.click("Atblokuoti autorių")
    assert rasa.callback_answer()["text"] == "Autorius vėl gali teikti pasiūlymus."  # type: ignore[index]
    blocks = await db.all(ProposalBlock)
    assert blocks[0].lifted_by == RASA and blocks[0].lifted_at is not None
    assert "Blokuoti autorių" in _buttons(rasa, proposal)


async def test_erasure_redraws_the_card(harness: BotHarness, db: Database) -> None:
    _admin, rasa = await _staff(harness)
    resident = await _resident(harness, db)
    proposal = await _submit(harness, db)
    assert TEXT in _card(rasa, proposal)

    await resident.send("/forget")
    await resident.click("Taip, ištrinti")
    card = _card(rasa, proposal)
    assert TEXT not in card
    assert "[ištrinta]" in card
    assert "Autorius: [ištrinta] (Telegram)" in card
    assert "Blokuoti autorių" not in _buttons(rasa, proposal)


async def test_in_a_forum_each_proposal_has_its_own_topic(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness, is_forum=True)
    resident = await _resident(harness, db)
    photos = await _photo_ids(resident, 1)
    first = await _submit(harness, db, photos=photos)
    second = await _submit(harness, db)
    topics = rasa.api.forum_topics(GROUP)
    assert topics == {
        first.topic_thread_id: first.reference,
        second.topic_thread_id: second.reference,
    }
    card = _card_message(rasa, first)
    assert card.message_thread_id == first.topic_thread_id
    photo = next(m for m in rasa.api.bot_messages(GROUP) if m.kind == "photo")
    assert photo.message_thread_id == first.topic_thread_id
    assert photo.reply_to_message_id == card.message_id

    # Any moderator's message in the topic reaches the resident of that proposal.
    await rasa.send(
        "Ar galite atsiųsti daugiau nuotraukų?", message_thread_id=first.topic_thread_id
    )
    assert rasa.reply_texts == ["Išsiųsta gyventojui."]
    assert rasa.last.message_thread_id == first.topic_thread_id
    assert resident.last_text.startswith(f"Žinutė dėl Jūsų pasiūlymo {first.reference}.")
    # The reason prompt and the answer stay in the topic too.
    await rasa.click("Atmesti", card)
    assert rasa.last.message_thread_id == first.topic_thread_id
    await rasa.send("Tai ne savivaldybės klausimas.", message_thread_id=first.topic_thread_id)
    assert (await _proposal(db, first.id)).status is ProposalStatus.REJECTED
    assert (await _proposal(db, second.id)).status is ProposalStatus.NEW

    # The resident's answer comes back into the proposal's topic.
    app = harness.app
    assert app is not None
    async with db.sessions() as session, session.begin():
        stored = await session.get(Proposal, second.id)
        assert stored is not None
        relayed = await proposal_relay.record_resident_reply(session, stored, "Papildau.")
        message_id = relayed.message.id
    await proposal_cards.relay_resident_reply(
        app.bot, app.session_factory, app.i18n, app.settings, message_id
    )
    answer = rasa.api.bot_messages(GROUP)[-1]
    assert answer.text == f"{second.reference} – gyventojas atsako: Papildau."
    assert answer.message_thread_id == second.topic_thread_id


async def test_a_long_history_keeps_the_card_within_telegrams_limit(
    harness: BotHarness, db: Database
) -> None:
    _admin, rasa = await _staff(harness)
    await _resident(harness, db)
    proposal = await _submit(harness, db)
    long_text = "Ilgas tekstas apie suoliukus ir takelius. " * 48  # close to 2000 characters
    async with db.sessions() as session, session.begin():
        stored = await session.get(Proposal, proposal.id)
        assert stored is not None
        stored.text = long_text.strip()
        for round_ in range(8):
            reason = f"Priežastis {round_}: " + "per brangu, " * 80
            for to in (ProposalStatus.REJECTED, ProposalStatus.IN_REVIEW):
                change = await proposals.change_status(
                    session, proposal.id, RASA, to, admin_ids=[], reason=reason
                )
                assert change.to_status is to
    app = harness.app
    assert app is not None
    await proposal_cards.redraw_card(
        app.bot, app.session_factory, app.i18n, app.settings, proposal.id
    )
    card = _card(rasa, proposal)
    assert len(card) <= 4096
    assert long_text.strip() in card
    assert "ankstesni" in card or "ankstesnių" in card
    assert "Peržiūrimas – Rasa, " in card.splitlines()[-3]
