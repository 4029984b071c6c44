"""Bad input gets a short Lithuanian answer and changes nothing it should not."""

from __future__ import annotations

import pytest

from models import Resident
from tests.support.db import Database
from tests.support.harness import BotHarness
from tests.test_onboarding import onboard
from tests.test_telegram_platform import start_update


async def test_photo_instead_of_a_button_repeats_the_step(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(2001)
    await chat.send("/start")
    await chat.click("Sutinku")
    await chat.send_photo()
    assert chat.reply_texts == [
        "Tokios žinutės čia negaliu priimti. Naudokite mygtukus arba rašykite tekstą.",
        "Kurioje savivaldybėje gyvenate?",
    ]
    resident = await db.resident(2001)
    assert resident is not None and resident.municipality_id is None


@pytest.mark.parametrize("kind", ["sticker", "voice"])
async def test_sticker_or_voice_after_onboarding_gets_a_polite_answer(
    harness: BotHarness, kind: str
) -> None:
    chat = harness.chat(2002)
    await onboard(chat)
    await (chat.send_sticker() if kind == "sticker" else chat.send_voice())
    assert chat.reply_texts[0] == (
        "Tokios žinutės čia negaliu priimti. Naudokite mygtukus arba rašykite tekstą."
    )
    assert chat.reply_texts[1].startswith("Pasirinkite, ką norite daryti")


async def test_unknown_command_is_answered(harness: BotHarness) -> None:
    chat = harness.chat(2003)
    await onboard(chat)
    await chat.send("/balsuoti")
    assert chat.reply_texts == ["Tokios komandos nežinau. Naudokite mygtukus arba /help."]


async def test_text_while_a_button_is_expected(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(2004)
    await chat.send("/start")
    await chat.send("labas")
    assert chat.reply_texts[0] == "Atsakykite paspausdami vieną iš mygtukų."
    assert "Ar sutinkate?" in chat.reply_texts[1]
    resident = await db.resident(2004)
    assert resident is not None and resident.consented_at is None


async def test_very_long_message_is_answered_and_changes_nothing(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(2005)
    await onboard(chat)
    before = await db.resident(2005)
    await chat.send("ą" * 5000)
    assert chat.reply_texts[0] == (
        "Atsiprašome, nesupratau. Pasirinkite veiksmą mygtukais apačioje."
    )
    after = await db.resident(2005)
    assert before is not None and after is not None
    assert (after.municipality_id, after.age_group, after.onboarded_at) == (
        before.municipality_id,
        before.age_group,
        before.onboarded_at,
    )


async def test_consent_button_pressed_again_changes_nothing(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(2006)
    await chat.send("/start")
    consent = chat.message_with_button("Sutinku")
    data = consent.button_data("Sutinku")
    await chat.click("Sutinku", consent)
    first = (await db.resident(2006)).consented_at  # type: ignore[union-attr]
    await chat.press(consent.message_id, data)  # a client still showing the old button
    assert chat.replies == []
    assert chat.callback_answer()["text"] == "Jūs jau sutikote."  # type: ignore[index]
    assert (await db.resident(2006)).consented_at == first  # type: ignore[union-attr]


async def test_old_municipality_button_after_onboarding_is_refused(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(2007)
    await chat.send("/start")
    await chat.click("Sutinku")
    keyboard = chat.last
    stale = keyboard.button_data("Alytaus m.")
    await chat.click("Akmenės r.", keyboard)
    await chat.click("18–29 m.")
    await chat.press(keyboard.message_id, stale)
    assert chat.replies == []
    assert chat.callback_answer()["text"] == "Šis mygtukas nebegalioja."  # type: ignore[index]
    resident = await db.resident(2007)
    assert resident is not None and resident.municipality is not None
    assert resident.municipality.code == "AKM"


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        ("mun:s:999999", "Šios savivaldybės pasirinkti negalima. Pasirinkite kitą."),
        ("age:s:over_9000", "Šis mygtukas nebegalioja."),
        ("lang:ru", "Šis mygtukas nebegalioja."),
        ("totally-forged", "Šis mygtukas nebegalioja."),
        ("mun:x:1", "Šis mygtukas nebegalioja."),
    ],
)
async def test_forged_callback_data_changes_nothing(
    harness: BotHarness, db: Database, data: str, answer: str
) -> None:
    chat = harness.chat(2008)
    await onboard(chat)
    before = await db.resident(2008)
    await chat.press(chat.last.message_id, data)
    assert chat.callback_answer()["text"] == answer  # type: ignore[index]
    assert chat.replies == []
    after = await db.resident(2008)
    assert before is not None and after is not None
    assert (after.municipality_id, after.age_group, after.language) == (
        before.municipality_id,
        before.age_group,
        before.language,
    )


async def test_inactive_municipality_cannot_be_chosen(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(2009)
    await chat.send("/start")
    await chat.click("Sutinku")
    keyboard = chat.last
    admin = harness.chat(900_000_001, "Admin")
    await admin.send("/deactivate AKM")
    await chat.click("Akmenės r.", keyboard)
    assert chat.callback_answer()["text"] == (  # type: ignore[index]
        "Šios savivaldybės pasirinkti negalima. Pasirinkite kitą."
    )
    resident = await db.resident(2009)
    assert resident is not None and resident.municipality_id is None


async def test_double_tap_records_one_answer(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(2010)
    await chat.send("/start")
    await chat.click("Sutinku")
    await chat.click("Biržų r.")
    message = chat.message_with_button("18–29 m.")
    data = message.button_data("18–29 m.")
    first = await harness.api.press_button(2010, message.message_id, data)
    second = await harness.api.press_button(2010, message.message_id, data)
    await harness.handled(first)
    await harness.handled(second)
    menus = [m for m in chat.messages if m.text.startswith("Ačiū, viskas paruošta!")]
    assert len(menus) == 1
    answers = [a.get("text") for a in harness.api.callback_answers[-2:]]
    assert "Šis mygtukas nebegalioja." in answers


@pytest.mark.parametrize("mode", ["webhook"], indirect=True)
async def test_same_update_delivered_twice_is_handled_once(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(2011, "Eve")
    update = start_update(harness.api.next_update_id(), 2011)
    update_id = await harness.api.deliver_raw(update)
    await harness.handled(update_id)
    answered = len(chat.messages)
    assert answered == 2  # greeting and privacy notice
    await harness.api.deliver_raw(update)  # Telegram redelivers the same update
    await harness.handled(update_id, times=2)
    assert len(chat.messages) == answered
    assert await db.count(Resident) == 1


async def test_flood_is_slowed_down_politely(
    database_url: str, local_api: object, db: Database
) -> None:
    from bot.localapi.server import LocalBotAPI
    from tests.support.harness import harness_settings

    assert isinstance(local_api, LocalBotAPI)
    settings = harness_settings(
        database_url, local_api, "polling", throttle_rate=0.01, throttle_burst=3
    )
    flood = BotHarness(local_api, settings)
    await flood.start()
    try:
        chat = flood.chat(2012)
        for _ in range(6):
            await chat.send("/help")
        texts = [m.text for m in chat.messages]
        assert texts.count("Siunčiate žinutes labai greitai. Palaukite kelias sekundes.") == 1
        assert sum(t.startswith("Kaip naudotis") for t in texts) == 3
    finally:
        await flood.stop()
