"""One person, two apps, end to end: a code shown in Telegram typed in Messenger and the other
way round → one profile with both accounts; /mydata in either app shows both; an
announcement reaches the person once, in the app they last wrote from; /forget from one app
erases the profile with both accounts; wrong, repeated and same-app codes answered politely.

The real application with Messenger on (its webhook on 127.0.0.1), the local Graph API and
the local Bot API. Both databases.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.localapi.server import LocalBotAPI
from bot.localgraph import LocalGraphAPI
from bot.services import broadcasts
from bot.services.audiences import Audience
from models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    LinkCode,
    OutboxMessage,
    OutboxStatus,
    Resident,
    ResidentAccount,
)
from tests.support.db import Database
from tests.support.harness import BotHarness, Chat
from tests.support.messenger import (
    APP_SECRET,
    PAGE_TOKEN,
    MessengerHarness,
    MessengerUser,
    messenger_settings,
)

TELEGRAM_CODE = re.compile(
    r"^Jūsų kodas: ([A-Z]{4}-[A-Z]{4})\. Per 15 min\. parašykite jį mūsų Facebook puslapiui "
    r"Messenger programėlėje\.$"
)
MESSENGER_CODE = re.compile(
    r"^Jūsų kodas: ([A-Z]{4}-[A-Z]{4})\. Per 15 min\. parašykite jį mūsų botui Telegram "
    r"programėlėje\.$"
)
LINKED = (
    "Atlikta: jūsų Telegram ir Messenger susieti. Dabar tai vienas profilis: nustatymai, "
    "atsakymai ir registracijos abiejose programėlėse tie patys, o rašysime jums toje "
    "programėlėje, iš kurios paskutinį kartą parašėte."
)
WRONG = (
    "Šis kodas netinka: gal jis parašytas su klaida arba senesnis nei 15 min. Patikrinkite "
    "jį arba gaukite naują Telegram programėlėje."
)
TELEGRAM_MENU = "Choose what you would like to do using the buttons below."
ANNOUNCEMENT = "Kviečiame į <b>susitikimą</b>!"
PLAIN = "Kviečiame į susitikimą!"


@pytest.fixture
async def mh(database_url: str, local_api: LocalBotAPI) -> AsyncIterator[MessengerHarness]:
    """Messenger on; announcements sent at once (no quiet hours, a short progress step)."""
    graph = LocalGraphAPI(APP_SECRET, PAGE_TOKEN)
    await graph.start()
    settings = messenger_settings(
        database_url,
        local_api,
        graph,
        delivery={"progress_interval": 0.2, "retry_base_seconds": 0.2},
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",
    )
    harness = MessengerHarness(graph, BotHarness(local_api, settings))
    try:
        await harness.start()
        yield harness
        await harness.stop()
    finally:
        await graph.close()


async def onboard_telegram(chat: Chat, municipality: str = "Zarasų r.") -> None:
    await chat.send("/start")
    await chat.click("Sutinku")
    while True:
        message = chat.message_with_button("Toliau")
        if municipality in message.button_texts():
            break
        await chat.click("Toliau", message)
    await chat.click(municipality)
    await chat.click("30–44 m.")


async def telegram_code(chat: Chat) -> str:
    await chat.send("/link")
    assert chat.last_text.startswith("Naudojate ir Telegram, ir Messenger? Susiekite jas")
    assert chat.last.button_texts() == ["Gauti kodą", "Įvesti kodą"]
    await chat.click("Gauti kodą")
    found = TELEGRAM_CODE.match(chat.last_text)
    assert found is not None, chat.last_text
    return found.group(1)


async def messenger_code(user: MessengerUser) -> str:
    await user.tap("Susieti su Telegram")
    assert user.reply_texts[0].startswith("Naudojate ir Telegram, ir Messenger? Susiekite jas")
    assert user.quick_reply_titles() == ["Gauti kodą", "Įvesti kodą"]
    await user.tap("Gauti kodą")
    found = MESSENGER_CODE.match(user.last_text)
    assert found is not None, user.last_text
    return found.group(1)


async def profiles(db: Database) -> list[tuple[int, list[tuple[Channel, str]]]]:
    """Every resident and their accounts."""
    result = []
    for resident in await db.all(Resident):
        accounts = await db.all(ResidentAccount, ResidentAccount.resident_id == resident.id)
        result.append(
            (resident.id, sorted(((a.channel, a.external_id) for a in accounts), reverse=True))
        )
    return result


async def eventually(check: Callable[[], Any], timeout: float = 30) -> None:
    """Wait until ``check()`` (possibly a coroutine) is true; the limit only stops a hang."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def announce(mh: MessengerHarness, db: Database) -> int:
    async with mh.app.session_factory() as session, session.begin():
        broadcast = await broadcasts.create(
            session, created_by=1, text=ANNOUNCEMENT, audience=Audience()
        )
        broadcast_id = broadcast.id
    mh.app.delivery.wake()

    async def done() -> bool:
        (row,) = await db.all(Broadcast, Broadcast.id == broadcast_id)
        return bool(row.status == BroadcastStatus.DONE)

    await eventually(done)
    return broadcast_id


async def test_a_code_from_telegram_typed_in_messenger_makes_one_profile(
    mh: MessengerHarness, local_api: LocalBotAPI, db: Database
) -> None:
    chat = mh.harness.chat(1001, "Ona")
    await onboard_telegram(chat, "Zarasų r.")
    ona = mh.user("7001")
    await ona.onboard(municipality="PAG")
    code = await telegram_code(chat)

    await ona.tap("Susieti su Telegram")
    await ona.tap("Įvesti kodą")
    assert ona.reply_texts == [
        "Parašykite kodą, kurį matote Telegram programėlėje (pavyzdžiui, ACEF-HJKL)."
    ]
    await ona.send(code.lower().replace("-", " "))
    assert ona.reply_texts[0].startswith(LINKED)
    assert ona.quick_reply_titles()[0] == "Apklausos"  # the menu follows

    # One profile: Telegram's (it showed the code), with both accounts; the address is
    # Messenger, where Ona wrote last.
    [(resident_id, accounts)] = await profiles(db)
    assert accounts == [(Channel.TELEGRAM, "1001"), (Channel.MESSENGER, "7001")]
    [resident] = await db.all(Resident)
    assert resident.municipality is not None and resident.municipality.code == "ZAR"
    assert (resident.channel, resident.external_id) == (Channel.MESSENGER, "7001")
    assert await db.count(LinkCode) == 0

    # An announcement reaches her once: in Messenger.
    broadcast_id = await announce(mh, db)
    assert [m.text for m in mh.graph.messages_for("7001")].count(PLAIN) == 1
    assert PLAIN not in [m.text for m in local_api.bot_messages(1001)]
    outbox = await db.all(OutboxMessage, OutboxMessage.broadcast_id == broadcast_id)
    assert [(o.resident_id, o.chat_id, o.status) for o in outbox] == [
        (resident_id, "7001", OutboxStatus.SENT)
    ]

    # /mydata in Telegram names both apps, and the export lists both accounts.
    await chat.send("/mydata")
    document = chat.last
    assert document.text == (
        "Čia – viskas, ką apie jus saugome.\nSusietos programėlės: Telegram ir Messenger."
    )
    data = json.loads(document.document_bytes or b"")
    assert [(a["channel"], a["id"]) for a in data["accounts"]] == [
        ("telegram", "1001"),
        ("messenger", "7001"),
    ]
    # Mano duomenys in Messenger: the same profile, both apps.
    await ona.postback("mydata", "Mano duomenys")
    summary = ona.reply_texts[0]
    assert "Zarasų r." in summary
    assert "Telegram" in summary and "Messenger" in summary

    # Erasing from Messenger erases the one profile with both accounts.
    await ona.postback("forget", "Ištrinti mano duomenis")
    await ona.tap("Taip, ištrinti")
    assert ona.reply_texts[0].startswith("Jūsų duomenys ištrinti.")
    assert await db.count(Resident) == 0
    assert await db.count(ResidentAccount) == 0
    await chat.send("/mydata")
    assert chat.last_text == "Apie jus jokių duomenų nesaugome."
    assert mh.graph.violations == 0


async def test_a_code_from_messenger_typed_in_telegram_makes_one_profile(
    mh: MessengerHarness, local_api: LocalBotAPI, db: Database
) -> None:
    ona = mh.user("7002")
    await ona.onboard(municipality="PAG")
    chat = mh.harness.chat(1002, "Ona")
    await onboard_telegram(chat, "Zarasų r.")
    code = await messenger_code(ona)

    await chat.tap_menu("Mano duomenys ir nustatymai")
    await chat.click("Susieti su Messenger")
    assert chat.last.button_texts() == ["Gauti kodą", "Įvesti kodą"]
    await chat.click("Įvesti kodą")
    assert chat.last_text == (
        "Parašykite kodą, kurį matote Messenger programėlėje (pavyzdžiui, ACEF-HJKL)."
    )
    await chat.send(code)
    assert chat.last_text.startswith(LINKED)

    # Messenger's profile is kept (Pagėgiai); Telegram, where Ona wrote last, is the address.
    [(_, accounts)] = await profiles(db)
    assert accounts == [(Channel.TELEGRAM, "1002"), (Channel.MESSENGER, "7002")]
    [resident] = await db.all(Resident)
    assert resident.municipality is not None and resident.municipality.code == "PAG"
    assert (resident.channel, resident.external_id) == (Channel.TELEGRAM, "1002")

    await announce(mh, db)
    assert [m.text for m in local_api.bot_messages(1002)].count(PLAIN) == 1
    assert PLAIN not in [m.text for m in mh.graph.messages_for("7002")]

    # She writes in Messenger again: the bot answers there from now on.
    await ona.send("Meniu")
    [resident] = await db.all(Resident)
    assert (resident.channel, resident.external_id) == (Channel.MESSENGER, "7002")

    # /forget from Telegram erases both accounts too.
    await chat.send("/forget")
    await chat.click("Taip, ištrinti")
    assert await db.count(Resident) == 0
    assert await db.count(ResidentAccount) == 0
    assert mh.graph.violations == 0


async def test_wrong_same_app_and_repeated_codes_are_answered_politely(
    mh: MessengerHarness, db: Database
) -> None:
    chat = mh.harness.chat(1003, "Ona")
    await onboard_telegram(chat)
    ona = mh.user("7003")
    await ona.onboard()
    code = await telegram_code(chat)

    # Typed back in Telegram, where it was shown.
    await chat.click("Įvesti kodą", chat.message_with_button("Įvesti kodą"))
    await chat.send(code)
    assert chat.last_text == "Šis kodas parodytas čia: parašykite jį Messenger programėlėje."

    # Not a code at all: said so, and the conversation is not stuck waiting.
    await ona.tap("Susieti su Telegram")
    await ona.tap("Įvesti kodą")
    await ona.send("Labas")
    assert ona.reply_texts == [
        "Tai nepanašu į kodą: jį sudaro 8 raidės, pavyzdžiui, ACEF-HJKL. Norėdami bandyti "
        "dar kartą, vėl pasirinkite „Įvesti kodą“."
    ]
    assert ona.quick_reply_titles() == ["Gauti kodą", "Įvesti kodą"]

    # Wrong codes: the same answer each time, then a pause after five.
    await ona.tap("Įvesti kodą")
    for _ in range(5):
        await ona.send("ACEF-HJKL" if code != "ACEF-HJKL" else "ACEF-HJKM")
        assert ona.reply_texts[0] == WRONG
    await ona.send(code)
    assert ona.reply_texts[0].startswith(
        "Per daug neteisingų kodų. Bandykite dar kartą po 15 min.\n\nKą norėtumėte daryti?"
    )
    assert len(await profiles(db)) == 2

    # A used code does not work twice; a linked pair says so.
    other = mh.user("7004")
    await other.onboard()
    code = await telegram_code(chat)
    await other.tap("Susieti su Telegram")
    await other.tap("Įvesti kodą")
    await other.send(code)
    assert other.reply_texts[0].startswith(LINKED)
    code = await telegram_code(chat)
    await other.tap("Susieti su Telegram")
    await other.tap("Įvesti kodą")
    await other.send(code)
    assert other.reply_texts[0].startswith("Jūsų Telegram ir Messenger jau susieti.")
    # Another Messenger account cannot join a profile that has one.
    third = mh.user("7005")
    await third.onboard()
    await third.tap("Susieti su Telegram")
    await third.tap("Įvesti kodą")
    await third.send(code)
    assert third.reply_texts[0].startswith("Šių programėlių susieti negalima")
    assert mh.graph.violations == 0


async def test_telegram_says_politely_when_messenger_is_not_used(harness: BotHarness) -> None:
    chat = harness.chat(1010, "Ona")
    await onboard_telegram(chat)
    await chat.send("/link")
    assert chat.last_text == "Ši paslauga Messenger nenaudoja, todėl susieti nėra su kuo."
    assert chat.last.button_texts() == []


async def test_a_newcomer_in_either_app_links_without_consenting_again(
    mh: MessengerHarness, db: Database
) -> None:
    """Someone who takes part in one app opens the other: they type the code before any
    onboarding there, and keep the one consent given in the first app."""
    chat = mh.harness.chat(1006, "Ona")
    await onboard_telegram(chat, "Zarasų r.")
    code = await telegram_code(chat)
    newcomer = mh.user("7006")
    await newcomer.postback("get_started", "Pradėti")
    await newcomer.postback("link", "Susieti su Telegram")
    await newcomer.tap("Įvesti kodą")
    await newcomer.send(code)
    assert newcomer.reply_texts[0].startswith(LINKED)
    assert newcomer.quick_reply_titles()[0] == "Apklausos"  # the kept profile is onboarded
    [(_, accounts)] = await profiles(db)
    assert accounts == [(Channel.TELEGRAM, "1006"), (Channel.MESSENGER, "7006")]

    ona = mh.user("7007")
    await ona.onboard(municipality="PAG")
    code = await messenger_code(ona)
    fresh = mh.harness.chat(1007, "Ona")
    await fresh.send("/link")
    await fresh.click("Įvesti kodą")
    await fresh.send(code)
    assert fresh.last_text.startswith(LINKED)
    assert len(await profiles(db)) == 2
    [kept] = await db.all(Resident, Resident.external_id == "1007")
    assert kept.is_onboarded and kept.municipality is not None
    assert kept.municipality.code == "PAG"
