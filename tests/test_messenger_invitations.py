"""Invitations reach Messenger residents with a button that works there: a broadcast's
Telegram deep link (answer a poll, register to an event) becomes a postback that opens the
same thing in Messenger, and an m.me link with ``?ref=`` does too — for a newcomer (the ref
comes with Get Started) once they have agreed and chosen their municipality."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.channels.telegram.event_admin import register_url
from bot.channels.telegram.poll_jobs import answer_url
from bot.localapi.server import LocalBotAPI
from models import MessageCategory, PollAnswer, Registration, Resident, utcnow
from tests.support.db import Database
from tests.support.messenger import MessengerHarness
from tests.support.residents import add_residents
from tests.test_events_resident import make_event
from tests.test_messenger_delivery import (
    add_messenger_resident,
    create_broadcast,
    running,
    wait_done,
)
from tests.test_poll_answering import make_poll

PSID = "9301"


@pytest.fixture
async def mh(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[MessengerHarness]:
    """Messenger on, quick delivery and no quiet hours."""
    async with running(database_url, local_api) as harness:
        yield harness


QUESTION = "Kokia spalva gražiausia?\n\nPasirinkite vieną atsakymą."


async def test_a_poll_invitation_button_opens_the_poll_in_messenger(
    mh: MessengerHarness, local_api: LocalBotAPI, db: Database
) -> None:
    poll = await make_poll(db)
    (chat,) = await add_residents(mh.app.session_factory, local_api, 1)
    await add_messenger_resident(mh, PSID, utcnow() - timedelta(hours=1))
    url = answer_url("dalyvauk_bot", poll.id)
    broadcast_id = await create_broadcast(
        mh.app,
        "Nauja apklausa: <b>spalvos</b>",
        category=MessageCategory.POLL,
        button_text="Atsakyti",
        button_url=url,
    )
    await wait_done(db, broadcast_id)

    # Telegram keeps its link; Messenger gets a postback instead of a t.me address.
    (telegram,) = local_api.bot_messages(chat)
    assert telegram.inline_buttons() == [{"text": "Atsakyti", "url": url}]
    (invitation,) = mh.graph.messages_for(PSID)
    assert invitation.text == "Nauja apklausa: spalvos"
    assert invitation.buttons == [("Atsakyti", f"start:poll_{poll.id}")]

    ona = mh.user(PSID)
    await ona.postback(f"start:poll_{poll.id}", "Atsakyti")
    assert ona.reply_texts == [QUESTION]
    assert ona.quick_reply_titles() == ["Raudona", "Žalia"]
    assert mh.graph.violations == 0


async def test_an_event_invitation_keeps_its_source_and_m_me_links_open_what_they_name(
    mh: MessengerHarness, db: Database
) -> None:
    event = await make_event(db, title="Seniūnijos biudžetas", capacity=5)
    poll = await make_poll(db)
    await add_messenger_resident(mh, PSID, utcnow() - timedelta(hours=1))
    broadcast_id = await create_broadcast(
        mh.app,
        "Kviečiame į susitikimą",
        category=MessageCategory.EVENT,
        button_text="Registruotis",
        button_url=register_url("dalyvauk_bot", event.id, "plakatas"),
    )
    await wait_done(db, broadcast_id)
    (invitation,) = mh.graph.messages_for(PSID)
    assert invitation.buttons == [("Registruotis", f"start:evt_{event.id}_plakatas")]

    ona = mh.user(PSID)
    await ona.postback(f"start:evt_{event.id}_plakatas", "Registruotis")
    assert ona.last_text.startswith("Seniūnijos biudžetas")
    await ona.postback(f"er:{event.id}")
    await ona.tap("Be vardo")
    (registration,) = await db.all(Registration, Registration.event_id == event.id)
    assert registration.source == "plakatas"

    # m.me/<page>?ref=poll_<id> in the existing conversation: the poll's question.
    ona._seen = len(ona.messages)
    await mh.deliver(PSID, referral=f"poll_{poll.id}")
    assert ona.reply_texts == [QUESTION]
    # A link naming nothing we know: a polite word and the menu.
    ona._seen = len(ona.messages)
    await mh.deliver(PSID, referral="nieko_tokio")
    assert ona.reply_texts == ["Šis mygtukas nebegalioja."]
    assert ona.quick_reply_titles() == ["Meniu"]
    assert mh.graph.violations == 0


async def test_a_newcomer_from_a_posters_m_me_link_gets_the_poll_once_set_up(
    mh: MessengerHarness, db: Database
) -> None:
    poll = await make_poll(db)
    ona = mh.user(PSID)
    # The poster's QR code is m.me/<page>?ref=poll_<id>; a new conversation starts with Get
    # Started, and Meta puts the ref inside that postback.
    await ona.postback("get_started", "Pradėti", referral=f"poll_{poll.id}")
    assert "Sutinku" in ona.quick_reply_titles()  # the privacy notice comes first
    # Tapping something else before agreeing leads back to the step and keeps the link.
    await ona.send("labas")
    assert QUESTION not in [m.text for m in ona.messages]

    await ona.onboard()  # Get Started again (no ref this time), consent, PAG, no age group
    *_, menu, question = ona.reply_texts
    assert menu.startswith("Ačiū, viskas paruošta!")
    assert question == QUESTION
    assert [m.text for m in ona.messages].count(QUESTION) == 1
    (resident,) = await db.all(Resident, Resident.external_id == PSID)
    assert resident.source == f"poll_{poll.id}"  # where this resident came from, as on Telegram

    await ona.tap("Raudona")
    (answer,) = await db.all(PollAnswer, PollAnswer.poll_id == poll.id)
    assert answer.resident_id == resident.id
    # The link opens once: the next Get Started is only the menu.
    await ona.postback("get_started", "Pradėti")
    (welcome,) = ona.reply_texts
    assert welcome.startswith("Sveiki sugrįžę!")
    assert mh.graph.violations == 0


async def test_an_event_link_waits_for_onboarding_and_an_old_conversation_opens_it_at_once(
    mh: MessengerHarness, db: Database
) -> None:
    event = await make_event(db, title="Seniūnijos biudžetas", capacity=5)
    ona = mh.user(PSID)
    await ona.onboard(referral=f"evt_{event.id}_plakatas")
    assert ona.last_text.startswith("Seniūnijos biudžetas")
    (resident,) = await db.all(Resident, Resident.external_id == PSID)
    assert resident.source == f"evt_{event.id}_plakatas"
    await ona.postback(f"er:{event.id}")
    await ona.tap("Be vardo")
    (registration,) = await db.all(Registration, Registration.event_id == event.id)
    assert registration.source == "plakatas"

    # Someone set up already who deleted the conversation starts it again from a link: the
    # menu's welcome and what the link names.
    poll = await make_poll(db)
    await ona.postback("get_started", "Pradėti", referral=f"poll_{poll.id}")
    welcome, question = ona.reply_texts
    assert welcome.startswith("Sveiki sugrįžę!")
    assert question == QUESTION
    # A ref the bot did not make is not kept as anyone's source or opened later.
    jonas = mh.user("9302")
    await jonas.onboard(referral="https://example.org/<x>")
    assert jonas.reply_texts[-1].startswith("Ačiū, viskas paruošta!")
    (newcomer,) = await db.all(Resident, Resident.external_id == "9302")
    assert newcomer.source is None
    assert mh.graph.violations == 0


async def test_a_link_opened_halfway_through_onboarding_opens_at_its_end(
    mh: MessengerHarness, db: Database
) -> None:
    poll = await make_poll(db)
    ona = mh.user(PSID)
    await ona.postback("get_started", "Pradėti")
    await ona.tap("Sutinku")
    # Before choosing the municipality she opens m.me/<page>?ref=poll_<id> in this same
    # conversation (a referral event): the chooser again, the poll kept for later.
    ona._seen = len(ona.messages)
    await mh.deliver(PSID, referral=f"poll_{poll.id}")
    assert "Daugiau" in ona.quick_reply_titles()
    assert QUESTION not in ona.reply_texts

    await ona.send("Pagėgių")  # the municipality typed
    await ona.tap("Nenoriu nurodyti")
    *_, menu, question = ona.reply_texts
    assert menu.startswith("Ačiū, viskas paruošta!")
    assert question == QUESTION
    (resident,) = await db.all(Resident, Resident.external_id == PSID)
    assert resident.municipality_id is not None
    assert resident.source is None  # she had agreed before the link: no source afterwards
    assert mh.graph.violations == 0
