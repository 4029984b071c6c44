"""Residents choose which messages they get, or mute them all; quiet hours are explained."""

from __future__ import annotations

import json

from tests.support.db import Database
from tests.support.harness import BotHarness, Chat
from tests.test_onboarding import onboard

ALL_ON = ["✓ Pranešimai", "✓ Apklausos", "✓ Renginiai", "Nutildyti viską"]


async def open_message_settings(chat: Chat) -> None:
    await chat.tap_menu("Mano duomenys ir nustatymai")
    await chat.click("Pranešimų nustatymai")


async def test_settings_offer_message_settings_with_quiet_hours(harness: BotHarness) -> None:
    chat = harness.chat(6001)
    await onboard(chat)
    await open_message_settings(chat)
    text = chat.last_text
    assert text.startswith("Pranešimų nustatymai\n\nPasirinkite, kokias žinutes norite gauti.")
    assert text.endswith("Nuo 21:00 iki 08:00 pranešimų nesiunčiame.")
    assert chat.last.button_texts() == ALL_ON


async def test_each_tap_switches_one_kind_and_edits_the_keyboard(
    harness: BotHarness, db: Database
) -> None:
    chat = harness.chat(6002)
    await onboard(chat)
    await open_message_settings(chat)
    await chat.click("Pranešimai")
    assert chat.replies == []  # the same message changes
    assert chat.callback_answer()["text"] == "Išsaugota."  # type: ignore[index]
    assert chat.last.button_texts() == [
        "Pranešimai",
        "✓ Apklausos",
        "✓ Renginiai",
        "Nutildyti viską",
    ]
    await chat.click("Renginiai")
    resident = await db.resident(6002)
    assert resident is not None
    assert (resident.wants_announcements, resident.wants_polls, resident.wants_events) == (
        False,
        True,
        False,
    )
    await chat.click("Pranešimai")
    resident = await db.resident(6002)
    assert resident is not None and resident.wants_announcements is True


async def test_mute_everything_and_back(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(6003)
    await onboard(chat)
    await open_message_settings(chat)
    await chat.click("Nutildyti viską")
    assert "✓ Nutildyti viską" in chat.last.button_texts()
    assert "Dabar visi pranešimai nutildyti" in chat.last_text
    resident = await db.resident(6003)
    assert resident is not None and resident.muted is True
    await chat.click("Nutildyti viską")
    assert chat.last.button_texts() == ALL_ON
    assert "nutildyti" not in chat.last_text
    resident = await db.resident(6003)
    assert resident is not None and resident.muted is False


async def test_double_tap_on_a_setting_changes_it_once(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(6004)
    await onboard(chat)
    await open_message_settings(chat)
    message = chat.last
    data = message.button_data("Apklausos")
    await chat.press(message.message_id, data)
    await chat.press(message.message_id, data)  # the old button again: still "off"
    resident = await db.resident(6004)
    assert resident is not None and resident.wants_polls is False
    assert message.button_texts()[1] == "Apklausos"


async def test_forged_setting_changes_nothing(harness: BotHarness, db: Database) -> None:
    chat = harness.chat(6005)
    await onboard(chat)
    await chat.press(chat.last.message_id, "notif:everything:0")
    assert chat.callback_answer()["text"] == "Šis mygtukas nebegalioja."  # type: ignore[index]
    resident = await db.resident(6005)
    assert resident is not None
    assert (resident.wants_announcements, resident.wants_polls, resident.muted) == (
        True,
        True,
        False,
    )


async def test_settings_before_onboarding_are_not_offered(harness: BotHarness) -> None:
    chat = harness.chat(6006)
    await chat.send("/start")
    await chat.press(chat.last.message_id, "notif:muted:1")
    assert chat.callback_answer()["text"] == "Šis mygtukas nebegalioja."  # type: ignore[index]


async def test_my_data_includes_the_message_settings(harness: BotHarness) -> None:
    chat = harness.chat(6007)
    await onboard(chat)
    await open_message_settings(chat)
    await chat.click("Apklausos")
    await chat.send("/mydata")
    data = json.loads(chat.last.document_bytes or b"")
    assert data["resident"]["message_preferences"] == {
        "announcements": True,
        "polls": False,
        "events": True,
        "muted": False,
    }
